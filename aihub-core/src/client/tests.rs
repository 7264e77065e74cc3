use super::*;

#[test]
fn gateway_mode_passes_model_names_through() {
    let c = Client::builder()
        .gateway("http://127.0.0.1:8080/v1", "ai-hub-x")
        .build()
        .unwrap();
    assert!(c.is_gateway());
    let r = c.route("deepseek/deepseek-chat").unwrap();
    assert_eq!(r.upstream, "deepseek/deepseek-chat");
    assert_eq!(r.adapter.config().base_url, "http://127.0.0.1:8080/v1");
}

#[test]
fn builder_rejects_bad_setups() {
    assert!(matches!(
        Client::builder().gateway("http://x/v1", " ").build(),
        Err(Error::Config(_))
    ));
    let e = Client::builder()
        .keys_from_env(false)
        .provider_key("nonesuch", "k")
        .build()
        .unwrap_err();
    assert!(e.message().contains("nonesuch"));
}

#[test]
fn fallbacks_follow_the_model_without_repeating_it() {
    let c = Client::builder()
        .gateway("http://x/v1", "ai-hub-x")
        .fallback_models(["a", "b", "a"])
        .build()
        .unwrap();
    assert_eq!(c.models_to_try("a", &RequestOptions::default()), ["a", "b"]);
    let opts = RequestOptions {
        fallback_models: Some(vec!["c".into()]),
        ..Default::default()
    };
    assert_eq!(c.models_to_try("a", &opts), ["a", "c"]);
}
