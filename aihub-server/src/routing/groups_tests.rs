use std::collections::HashMap;

use super::Router;
use crate::config::{Config, RawConfig};
use crate::routing::ModelRouter;

fn router(text: &str) -> Result<Router, String> {
    let env = |name: &str| {
        (name.contains("KEY") && name != crate::secrets::SECRETS_KEY_ENV)
            .then(|| format!("sk-{name}"))
    };
    let raw = RawConfig::parse(text).map_err(|e| e.to_string())?;
    let config = Config::resolve(raw, &env).map_err(|e| e.to_string())?;
    let models = ModelRouter::new(config.providers.clone(), config.catalog.clone());
    Router::new(&config, models)
}

#[test]
fn the_routing_guide_example_loads() {
    let page = include_str!("../../../docs/routing.md");
    let block = page
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let router = router(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
    let group = router.group("gpt-4o").unwrap();
    assert_eq!(group.deployments.len(), 3);
    assert_eq!(group.fallbacks, ["claude-sonnet-4-5"]);
    let own_key = group
        .deployments
        .iter()
        .find(|d| d.id == "openai-2")
        .unwrap();
    let key = own_key.adapter.config().api_key.as_ref().unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(key), "sk-OPENAI_KEY_2");
    // A catalog name that is not a group is its model, served alone.
    let alone = router.group("gpt-4o-mini").unwrap();
    assert_eq!(alone.deployments.len(), 1);
    assert_eq!(alone.deployments[0].model.id, "openai/gpt-4o-mini");
}

const PROVIDERS: &str = r#"
[providers.openai]
api_key = "sk-test"
"#;

#[test]
fn a_weighted_group_orders_three_to_one_and_never_picks_weight_zero() {
    let router = router(&format!(
        r#"{PROVIDERS}
[routing.groups.split]
strategy = "weighted"
deployments = [
  {{ id = "three", provider = "openai", model = "gpt-4o-mini", weight = 3 }},
  {{ id = "one", provider = "openai", model = "gpt-4o", weight = 1 }},
  {{ id = "none", provider = "openai", model = "gpt-4.1", weight = 0 }},
]
"#
    ))
    .unwrap();
    let group = router.group("split").unwrap();
    let mut first: HashMap<String, usize> = HashMap::new();
    for _ in 0..4000 {
        let order = group.order(&|_| None);
        assert_eq!(order.len(), 2, "weight 0 is never in the order");
        *first.entry(order[0].id.clone()).or_default() += 1;
    }
    let share = first["three"] as f64 / 4000.0;
    assert!((0.72..=0.78).contains(&share), "{first:?}");
}

#[test]
fn priorities_come_first_and_cost_orders_lowest_cost() {
    let router = router(&format!(
        r#"{PROVIDERS}
[routing.groups.tiers]
deployments = [
  {{ id = "backup", provider = "openai", model = "gpt-4o", priority = 2 }},
  {{ id = "main", provider = "openai", model = "gpt-4o-mini", priority = 1 }},
]
[routing.groups.cheap]
strategy = "lowest_cost"
deployments = [
  {{ id = "dear", provider = "openai", model = "gpt-4o" }},
  {{ id = "cheap", provider = "openai", model = "gpt-4o-mini" }},
]
"#
    ))
    .unwrap();
    for _ in 0..20 {
        let order = router.group("tiers").unwrap().order(&|_| None);
        assert_eq!(order[0].id, "main");
        let cost = |d: &super::Deployment| d.model.price().map(|p| p.estimate(1000, 1000).amount);
        let order = router.group("cheap").unwrap().order(&cost);
        assert_eq!(order[0].id, "cheap");
    }
}

#[test]
fn a_group_that_cannot_be_served_stops_the_gateway_from_starting() {
    let unknown_fallback = format!(
        r#"{PROVIDERS}
[routing.groups.g]
fallbacks = ["no-such-model"]
deployments = [{{ provider = "openai", model = "gpt-4o-mini" }}]
"#
    );
    let e = router(&unknown_fallback).unwrap_err();
    assert!(e.contains("no-such-model"), "{e}");
    let unknown_model = format!(
        r#"{PROVIDERS}
[routing.groups.g]
deployments = [{{ provider = "openai", model = "gpt-9-imaginary" }}]
"#
    );
    let e = router(&unknown_model).unwrap_err();
    assert!(e.contains("openai/gpt-9-imaginary"), "{e}");
    let unconfigured = format!(
        r#"{PROVIDERS}
[routing.groups.g]
deployments = [{{ provider = "deepseek", model = "deepseek-chat" }}]
"#
    );
    let e = router(&unconfigured).unwrap_err();
    assert!(e.contains("not configured"), "{e}");
    let inline_key = format!(
        r#"{PROVIDERS}
[routing.groups.g]
deployments = [{{ provider = "openai", model = "gpt-4o-mini", api_key = "sk-inline" }}]
"#
    );
    let e = router(&inline_key).unwrap_err();
    assert!(!e.contains("sk-inline"), "{e}");
}
