//! Reading usage back: history pages with filters, and cost reports by model and day.

use aihub_server::store::{CostReport, DayCost, ModelCost, UsageFilter, UsageRecord};
use uuid::Uuid;

use crate::harness::TestDb;
use crate::usage::record;

on_both_backends!(
    history_pages_through_filters_without_gaps_or_repeats,
    costs_group_by_model_and_utc_day,
);

/// Pages through `filter` `page` records at a time, checking each page's size.
async fn read_pages(db: &TestDb, filter: &UsageFilter, page: u32) -> Vec<UsageRecord> {
    let mut filter = UsageFilter {
        limit: page,
        cursor: None,
        ..filter.clone()
    };
    let mut all: Vec<UsageRecord> = Vec::new();
    loop {
        let records = db.store.usage_history(&filter).await.unwrap();
        assert!(records.len() <= page as usize);
        let Some(last) = records.last() else { break };
        filter.cursor = Some(last.cursor());
        let full = records.len() == page as usize;
        all.extend(records);
        if !full {
            break;
        }
    }
    all
}

async fn history_pages_through_filters_without_gaps_or_repeats(db: TestDb) {
    let user = db.user().await;
    let other = db.user().await;
    let (key_a, key_b) = (Uuid::new_v4(), Uuid::new_v4());
    let base = 1_760_000_000_000;
    let mut records = Vec::new();
    for i in 0..40_i64 {
        // Groups of four share a millisecond, so the id must break ties.
        let mut r = record(
            &user,
            base + (i / 4) * 1_000,
            if i % 3 == 0 { "gpt-4o" } else { "o3" },
        );
        r.api_key_id = match i % 5 {
            0 => None,
            1 | 2 => Some(key_a),
            _ => Some(key_b),
        };
        records.push(r);
    }
    let mut foreign = record(&other, base + 5_000, "gpt-4o");
    foreign.api_key_id = Some(key_a);
    records.push(foreign);
    db.store.insert_usage(&records).await.unwrap();

    let everything = UsageFilter {
        user_id: user.id,
        from: None,
        to: None,
        model: None,
        api_key_id: None,
        limit: 1_000,
        cursor: None,
    };
    let expect = |keep: &dyn Fn(&UsageRecord) -> bool| {
        let mut kept: Vec<UsageRecord> =
            records[..40].iter().filter(|r| keep(r)).cloned().collect();
        kept.sort_by_key(|r| std::cmp::Reverse(r.cursor()));
        kept
    };
    let cases: Vec<(UsageFilter, Vec<UsageRecord>)> = vec![
        (everything.clone(), expect(&|_| true)),
        (
            UsageFilter {
                model: Some("gpt-4o".into()),
                ..everything.clone()
            },
            expect(&|r| r.model == "gpt-4o"),
        ),
        (
            UsageFilter {
                api_key_id: Some(key_a),
                ..everything.clone()
            },
            expect(&|r| r.api_key_id == Some(key_a)),
        ),
        (
            UsageFilter {
                from: Some(base + 2_000),
                to: Some(base + 7_000),
                ..everything.clone()
            },
            expect(&|r| r.created_at >= base + 2_000 && r.created_at < base + 7_000),
        ),
        (
            UsageFilter {
                from: Some(base + 1_000),
                to: Some(base + 9_000),
                model: Some("o3".into()),
                api_key_id: Some(key_b),
                ..everything.clone()
            },
            expect(&|r| {
                r.created_at >= base + 1_000
                    && r.created_at < base + 9_000
                    && r.model == "o3"
                    && r.api_key_id == Some(key_b)
            }),
        ),
    ];
    for (filter, expected) in &cases {
        assert!(!expected.is_empty());
        for page in [1, 3, 4, 7, 100] {
            assert_eq!(
                &read_pages(&db, filter, page).await,
                expected,
                "pages of {page} for {filter:?}"
            );
        }
    }
    // A cursor inside a group of equal times continues with the rest of that group.
    let all = &cases[0].1;
    let after = db
        .store
        .usage_history(&UsageFilter {
            limit: 3,
            cursor: Some(all[1].cursor()),
            ..everything.clone()
        })
        .await
        .unwrap();
    assert_eq!(after, all[2..5].to_vec());
    assert_eq!(all[1].created_at, all[2].created_at);
    let none = UsageFilter {
        limit: 0,
        ..everything
    };
    assert_eq!(db.store.usage_history(&none).await.unwrap(), vec![]);
}

async fn costs_group_by_model_and_utc_day(db: TestDb) {
    let user = db.user().await;
    // 2025-03-09T00:00:00Z; the records straddle the midnight that starts it.
    let midnight = 1_741_478_400_000;
    let priced =
        |at: i64, model: &str, nanos: i64, currency: &str, prompt: i64, completion: i64| {
            let mut r = record(&user, at, model);
            r.cost_nanos = Some(nanos);
            r.currency = Some(currency.into());
            r.prompt_tokens = prompt;
            r.completion_tokens = completion;
            r
        };
    let mut unpriced = record(&user, midnight, "local-llama");
    unpriced.cost_nanos = None;
    unpriced.currency = None;
    unpriced.prompt_tokens = 7;
    unpriced.completion_tokens = 3;
    let records = vec![
        priced(midnight - 1, "gpt-4o", 1_000, "USD", 10, 1),
        priced(midnight - 3_600_000, "gpt-4o", 2_000, "USD", 20, 2),
        priced(midnight, "gpt-4o", 4_000, "USD", 40, 4),
        priced(midnight + 86_399_999, "gpt-4o", 8_000, "USD", 80, 8),
        priced(midnight - 1, "qwen-max", 500, "CNY", 5, 5),
        priced(midnight + 10, "qwen-max", 700, "CNY", 7, 7),
        unpriced,
        // Outside [from, to): the next day, and another user.
        priced(midnight + 86_400_000, "gpt-4o", 16_000, "USD", 1, 1),
    ];
    db.store.insert_usage(&records).await.unwrap();
    let stranger = db.user().await;
    db.store
        .insert_usage(&[record(&stranger, midnight, "gpt-4o")])
        .await
        .unwrap();

    let report = db
        .store
        .usage_cost(user.id, midnight - 86_400_000, midnight + 86_400_000)
        .await
        .unwrap();
    let model =
        |model: &str, currency: Option<&str>, requests, prompt, completion, cost: Option<i64>| {
            ModelCost {
                model: model.into(),
                currency: currency.map(Into::into),
                requests,
                prompt_tokens: prompt,
                completion_tokens: completion,
                cost_nanos: cost,
            }
        };
    let day =
        |day: &str, currency: Option<&str>, requests, total_tokens, cost: Option<i64>| DayCost {
            day: day.into(),
            currency: currency.map(Into::into),
            requests,
            total_tokens,
            cost_nanos: cost,
        };
    assert_eq!(
        report,
        CostReport {
            by_model: vec![
                model("gpt-4o", Some("USD"), 4, 150, 15, Some(15_000)),
                model("local-llama", None, 1, 7, 3, None),
                model("qwen-max", Some("CNY"), 2, 12, 12, Some(1_200)),
            ],
            by_day: vec![
                day("2025-03-08", Some("CNY"), 1, 10, Some(500)),
                day("2025-03-08", Some("USD"), 2, 33, Some(3_000)),
                day("2025-03-09", Some("CNY"), 1, 14, Some(700)),
                day("2025-03-09", Some("USD"), 2, 132, Some(12_000)),
                day("2025-03-09", None, 1, 10, None),
            ],
        }
    );
    let empty = db.store.usage_cost(user.id, 0, 1).await.unwrap();
    assert_eq!(empty, CostReport::default());
}
