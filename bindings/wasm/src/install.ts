/** Installs a loaded wasm-bindgen module as the native half of the shared layer. */

import { hasTokenCounting, installNative, type NativeModule } from "../../js/src/index.js";

/**
 * Installs `glue`. Both builds share one JS layer: when an application imports both
 * `aihub-wasm` and `aihub-wasm/tokens`, the token-counting build (a superset) stays installed.
 */
export function install(glue: NativeModule, tokens: boolean): void {
  let installedTokens = false;
  try {
    installedTokens = hasTokenCounting();
  } catch {
    // Nothing installed yet.
  }
  if (tokens || !installedTokens) {
    installNative(glue);
  }
}
