//! Plans, limit enforcement settings, billing currency and alerts, as validated from
//! `[plans.*]`, `[limits]`, `[billing]` and `[alerts]`.

use std::collections::BTreeMap;
use std::time::Duration;

use aihub_core::pricing::{Currency, Money};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use super::ConfigError;
use super::raw::{RawAlerts, RawBilling, RawLimits, RawPlan};

/// A plan: what a user pays per month and what they may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The id users are assigned by (`free`, `developer`, …).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Monthly price in the billing currency.
    pub price_monthly: Decimal,
    /// Tokens per calendar month; `None` is unlimited.
    pub monthly_tokens: Option<u64>,
    /// Requests per minute per user; `None` is unlimited.
    pub rpm: Option<u32>,
    /// Tokens per minute per user; `None` is unlimited.
    pub tpm: Option<u64>,
    /// Requests in flight at once per key; `None` is unlimited.
    pub max_concurrent: Option<u32>,
}

/// The built-in plans: Free, Developer, Pro and Enterprise.
pub fn builtin_plans() -> BTreeMap<String, Plan> {
    let plan = |id: &str, name: &str, price: i64, tokens, rpm, tpm| Plan {
        id: id.to_owned(),
        name: name.to_owned(),
        price_monthly: Decimal::from(price),
        monthly_tokens: tokens,
        rpm,
        tpm,
        max_concurrent: None,
    };
    [
        plan("free", "Free", 0, Some(10_000), Some(10), Some(10_000)),
        plan(
            "developer",
            "Developer",
            29,
            Some(1_000_000),
            Some(100),
            Some(200_000),
        ),
        plan(
            "pro",
            "Pro",
            99,
            Some(5_000_000),
            Some(500),
            Some(1_000_000),
        ),
        plan("enterprise", "Enterprise", 0, None, None, None),
    ]
    .into_iter()
    .map(|p| (p.id.clone(), p))
    .collect()
}

/// What the gateway does when Redis or the database cannot answer a limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBackendError {
    /// Refuse the request with a 503 (the default): nobody can overspend.
    Closed,
    /// Let the request through unchecked; its usage is still recorded.
    Open,
}

/// `[limits]`, validated.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// The time zone months start in.
    pub timezone: TimeZone,
    /// Its IANA name, for display.
    pub timezone_name: String,
    /// Fail closed or open.
    pub on_backend_error: OnBackendError,
    /// Longest wait for the limit backend.
    pub backend_timeout: Duration,
    /// How long an unsettled reservation holds.
    pub lease: Duration,
    /// Output tokens reserved for a request without `max_tokens` (at most the model's maximum).
    pub default_max_output: u64,
    /// Plan of users whose plan id is not configured.
    pub default_plan: String,
}

/// `[billing]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billing {
    /// The accounting currency.
    pub currency: Currency,
    /// Value of one unit of each other currency in `currency`.
    pub exchange_rates: BTreeMap<Currency, Decimal>,
}

impl Billing {
    /// `money` in `to`, exactly when the currencies match, else through the configured rates
    /// (rounded to nano-units). `None` when no rate connects them.
    pub fn convert(&self, money: Money, to: Currency) -> Option<Money> {
        if money.currency == to {
            return Some(money);
        }
        let in_billing = if money.currency == self.currency {
            money.amount
        } else {
            money
                .amount
                .checked_mul(*self.exchange_rates.get(&money.currency)?)?
        };
        let amount = if to == self.currency {
            in_billing
        } else {
            in_billing.checked_div(*self.exchange_rates.get(&to)?)?
        };
        Some(Money::new(amount.round_dp(9).normalize(), to))
    }
}

/// `[alerts]`, validated.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Alerts {
    /// Receives budget alerts as JSON POSTs.
    pub webhook_url: Option<String>,
}

/// A currency code AI Hub prices in.
pub fn parse_currency(code: &str) -> Option<Currency> {
    match code.trim().to_ascii_uppercase().as_str() {
        "USD" => Some(Currency::Usd),
        "CNY" | "RMB" => Some(Currency::Cny),
        _ => None,
    }
}

fn decimal(text: &str, key: &str) -> Result<Decimal, ConfigError> {
    text.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
        .ok_or_else(|| {
            ConfigError(format!(
                "{key}: {text:?} is not a non-negative decimal number"
            ))
        })
}

/// Built-in plans with the configuration's tables replacing those of the same id.
pub(super) fn resolve_plans(
    raw: &BTreeMap<String, RawPlan>,
) -> Result<BTreeMap<String, Plan>, ConfigError> {
    let mut plans = builtin_plans();
    for (id, p) in raw {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError(format!(
                "plans.{id}: a plan id is letters, digits, '-' and '_'"
            )));
        }
        if p.rpm == Some(0) || p.tpm == Some(0) || p.max_concurrent == Some(0) {
            return Err(ConfigError(format!(
                "plans.{id}: a limit of 0 would refuse everything; omit it for unlimited"
            )));
        }
        let price = match &p.price_monthly {
            Some(t) => decimal(t, &format!("plans.{id}.price_monthly"))?,
            None => Decimal::ZERO,
        };
        plans.insert(
            id.clone(),
            Plan {
                id: id.clone(),
                name: p.name.clone().unwrap_or_else(|| id.clone()),
                price_monthly: price,
                monthly_tokens: p.monthly_tokens,
                rpm: p.rpm,
                tpm: p.tpm,
                max_concurrent: p.max_concurrent,
            },
        );
    }
    Ok(plans)
}

/// `[limits]` with its defaults; `plans` must hold the default plan.
pub(super) fn resolve_limits(
    raw: &RawLimits,
    plans: &BTreeMap<String, Plan>,
) -> Result<LimitSettings, ConfigError> {
    let timezone_name = raw.timezone.clone().unwrap_or_else(|| "UTC".to_owned());
    let timezone = TimeZone::get(&timezone_name).map_err(|_| {
        ConfigError(format!(
            "limits.timezone: {timezone_name:?} is not an IANA time zone like UTC or Asia/Shanghai"
        ))
    })?;
    let on_backend_error = match raw.on_backend_error.as_deref().unwrap_or("closed") {
        "closed" => OnBackendError::Closed,
        "open" => OnBackendError::Open,
        other => {
            return Err(ConfigError(format!(
                "limits.on_backend_error: {other:?} is not closed or open"
            )));
        }
    };
    let default_plan = raw
        .default_plan
        .clone()
        .unwrap_or_else(|| "free".to_owned());
    if !plans.contains_key(&default_plan) {
        return Err(ConfigError(format!(
            "limits.default_plan: no plan {default_plan:?} is configured"
        )));
    }
    Ok(LimitSettings {
        timezone,
        timezone_name,
        on_backend_error,
        backend_timeout: Duration::from_millis(raw.backend_timeout_ms.unwrap_or(250).max(1)),
        lease: Duration::from_secs(raw.lease_secs.unwrap_or(900).max(1)),
        default_max_output: raw.default_max_output.unwrap_or(4096).max(1),
        default_plan,
    })
}

/// `[billing]` with its defaults: USD, and 1 CNY = 0.14 USD until the operator says otherwise.
pub(super) fn resolve_billing(raw: &RawBilling) -> Result<Billing, ConfigError> {
    let code = raw.currency.as_deref().unwrap_or("USD");
    let currency = parse_currency(code)
        .ok_or_else(|| ConfigError(format!("billing.currency: {code:?} is not USD or CNY")))?;
    let mut exchange_rates = BTreeMap::new();
    let default_rate = match currency {
        Currency::Usd => (Currency::Cny, Decimal::new(14, 2)),
        Currency::Cny => (Currency::Usd, Decimal::new(71, 1)),
    };
    exchange_rates.insert(default_rate.0, default_rate.1);
    for (code, rate) in &raw.exchange_rates {
        let key = format!("billing.exchange_rates.{code}");
        let other = parse_currency(code)
            .ok_or_else(|| ConfigError(format!("{key}: not a currency AI Hub prices in")))?;
        let rate = decimal(rate, &key)?;
        if rate.is_zero() {
            return Err(ConfigError(format!("{key}: a rate must be above zero")));
        }
        if other != currency {
            exchange_rates.insert(other, rate);
        }
    }
    Ok(Billing {
        currency,
        exchange_rates,
    })
}

/// `[alerts]`.
pub(super) fn resolve_alerts(raw: &RawAlerts) -> Result<Alerts, ConfigError> {
    if let Some(url) = &raw.webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(ConfigError(
            "alerts.webhook_url: expected an http:// or https:// URL".into(),
        ));
    }
    Ok(Alerts {
        webhook_url: raw.webhook_url.clone(),
    })
}
