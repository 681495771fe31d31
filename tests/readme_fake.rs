use openrouter_keys::{
    Client, KeyUpdate,
    fake::{EXAMPLE_KEY_HASH, FakeOpenRouter, Fault},
};

// `start_paused` (tokio's `test-util`) runs the retry's wait on a paused
// clock, so the test takes no time.
#[tokio::test(start_paused = true)]
async fn clearing_the_limit_sends_null() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeOpenRouter::start().await?;
    fake.fail_next(1, Fault::status(429).retry_after("0"));

    let client = Client::builder()
        .api_key("sk-or-v1-test")
        .base_url(fake.base_url())
        .build()?;
    let key = client
        .update_key(EXAMPLE_KEY_HASH, &KeyUpdate::new().clear_limit())
        .await?;

    assert_eq!(key.limit, None);
    assert_eq!(fake.hits(), 2); // one 429, one success
    assert_eq!(fake.last_request().unwrap().body(), br#"{"limit":null}"#);
    Ok(())
}

/// The README shows this file, from its first line to the end of the test
/// above, as the example of testing with the fake; it must stay pasteable.
#[test]
fn the_readme_shows_this_file() {
    let readme = include_str!("../README.md");
    let file = include_str!("readme_fake.rs");
    let shown = &file[..file.find("\n/// The README shows this file").unwrap()];
    assert!(
        readme.contains(&format!("```rust,ignore\n{shown}```\n")),
        "the README's fake example differs from tests/readme_fake.rs"
    );
}
