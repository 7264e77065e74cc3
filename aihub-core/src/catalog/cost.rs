//! What a usage of a catalog model costs, at the catalog's price for it.

use super::Catalog;
use crate::pricing::Money;
use crate::types::Usage;

/// The cost of `usage` on `model` (a catalog id, an alias, or `provider/alias`), or `None`
/// when the model is not in the catalog or has no price.
pub fn cost_for_model(catalog: &Catalog, model: &str, usage: &Usage) -> Option<Money> {
    catalog
        .get(model)
        .and_then(|info| info.price.as_ref())
        .map(|price| price.cost(usage))
}

/// The exact cost of `usage` on `model` for the SDKs: `Ok(None)` when the model has no
/// price, a [`crate::Error::NotFound`] naming `model` when the catalog does not know it.
pub fn estimate_cost(
    catalog: &Catalog,
    model: &str,
    usage: &Usage,
) -> crate::error::Result<Option<Money>> {
    let info = catalog.get(model).ok_or_else(|| {
        crate::Error::NotFound(crate::ErrorDetail {
            message: format!("model {model:?} is not in the catalog"),
            param: Some("model".to_owned()),
            ..crate::ErrorDetail::default()
        })
    })?;
    Ok(info.price.as_ref().map(|price| {
        let cost = price.cost(usage);
        Money::new(cost.amount.normalize(), cost.currency)
    }))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::pricing::Currency;

    #[test]
    fn cost_for_catalog_models() {
        let catalog = Catalog::builtin();
        // 1234 prompt tokens of which 200 cached, 567 completion tokens, at 0.15 / 0.075 / 0.60:
        //   1034 × 0.15 + 200 × 0.075 + 567 × 0.60 = 155.1 + 15 + 340.2 = 510.3 → 0.0005103
        let usage = Usage::new(1234, 567).with_cached_tokens(200);
        let mini = Some(Money::new(dec!(0.0005103), Currency::Usd));
        for name in [
            "gpt-4o-mini",
            "openai/gpt-4o-mini",
            "gpt-4o-mini-2024-07-18",
            "openai/gpt-4o-mini-2024-07-18",
        ] {
            assert_eq!(cost_for_model(catalog, name, &usage), mini, "{name}");
        }
        // qwen-max, priced in CNY: 3000 × 2.4 + 1500 × 9.6 = 21600 → 0.0216 CNY.
        assert_eq!(
            cost_for_model(catalog, "qwen/qwen-max", &Usage::new(3000, 1500)),
            Some(Money::new(dec!(0.0216), Currency::Cny))
        );
        // A dated snapshot is never priced by cutting its date off.
        assert_eq!(
            cost_for_model(catalog, "openai/no-such-model", &usage),
            None
        );
        assert_eq!(
            cost_for_model(catalog, "openai/gpt-4o-mini-2099-01-01", &usage),
            None
        );
        // Listed but without a price: unknown, not free.
        assert_eq!(
            cost_for_model(catalog, "moonshot/moonshot-v1-8k", &usage),
            None
        );
        // Local models are free.
        assert_eq!(
            cost_for_model(catalog, "ollama/llama3.2", &usage),
            Some(Money::zero(Currency::Usd))
        );
    }

    #[test]
    fn estimate_cost_tells_unknown_from_unpriced() {
        let catalog = Catalog::builtin();
        let usage = Usage::new(1000, 100);
        assert!(matches!(
            estimate_cost(catalog, "openai/gpt-4o-mini-made-up", &usage),
            Err(crate::Error::NotFound(_))
        ));
        assert_eq!(
            estimate_cost(catalog, "moonshot/moonshot-v1-8k", &usage).ok(),
            Some(None)
        );
        // 1000 × 5 + 100 × 15 = 6500 → 0.0065 USD: gpt-4o-2024-05-13's own price.
        assert_eq!(
            estimate_cost(catalog, "openai/gpt-4o-2024-05-13", &usage).ok(),
            Some(Some(Money::new(dec!(0.0065), Currency::Usd)))
        );
    }
}
