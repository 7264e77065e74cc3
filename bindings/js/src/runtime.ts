/** The native half in use: installed once by the package entry (napi addon or wasm module). */

import { localError } from "./errors.js";
import type { NativeModule } from "./native.js";

let installed: NativeModule | undefined;

/** Installs the native half; the package entry calls this before anything else runs. */
export function setNative(native: NativeModule): void {
  installed = native;
}

/** The native half; a ConfigurationError when the package entry has not installed one. */
export function native(): NativeModule {
  if (installed === undefined) {
    throw localError("ConfigurationError", "config", "aihub: the native module is not loaded; import the package entry");
  }
  return installed;
}
