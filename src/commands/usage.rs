//! `gw usage`: the signed-in user's own requests and tokens per model, from the workspace's
//! system tables through a SQL warehouse ([`crate::usage`]).

use anyhow::Context as _;

use crate::cli::UsageArgs;
use crate::error::UserError;
use crate::http::Http;
use crate::session::{self, Context, Request};
use crate::time::{MinTtl, now_unix};
use crate::usage::{self, Poll, Since};

pub fn run(ctx: &Context<'_>, args: &UsageArgs) -> anyhow::Result<u8> {
    let warehouse = warehouse(
        args.warehouse_id.as_deref(),
        ctx.profile.warehouse_id.as_deref(),
    )
    .ok_or_else(|| {
        UserError::config(
            "no SQL warehouse to read usage with",
            format!(
                "pass `--warehouse-id ID`, or set `warehouse_id` in profile `{}` of `{}`",
                ctx.profile.name,
                ctx.config.path.display()
            ),
        )
    })?;
    let token = session::obtain(
        ctx,
        &Request::new(MinTtl::Default, super::login_policy(false, false)),
    )?;
    let http = Http::new(ctx.config.ca_file.as_deref()).map_err(|e| {
        UserError::config(
            e.to_string(),
            format!("fix `ca_file` in `{}`", ctx.config.path.display()),
        )
    })?;
    let stmt = usage::my_usage_sql(args.since, now_unix());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let data = runtime
        .block_on(usage::run_statement(
            &http,
            &ctx.profile.databricks_host,
            &token.access_token,
            &warehouse,
            &stmt,
            Poll::default(),
        ))
        .map_err(usage::UsageError::into_user_error)?;
    let rows = usage::rows(&data);
    super::emit(&render(&rows, args.since, args.json)?)?;
    Ok(0)
}

/// `--warehouse-id` outranks the profile's `warehouse_id`; blank is none. Pure.
fn warehouse(flag: Option<&str>, profile: Option<&str>) -> Option<String> {
    flag.or(profile)
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

fn render(rows: &[usage::UsageRow], since: Since, json: bool) -> anyhow::Result<String> {
    if json {
        let doc = usage::to_json(rows, "model", since);
        return Ok(serde_json::to_string_pretty(&doc).context("cannot encode JSON")? + "\n");
    }
    Ok(format!(
        "Your use of the gateway in the last {}, per model:\n{}",
        since.describe(),
        usage::render_table(rows, "model")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_outranks_the_profile_and_blank_is_none() {
        assert_eq!(warehouse(Some("a"), Some("b")).as_deref(), Some("a"));
        assert_eq!(warehouse(None, Some(" b ")).as_deref(), Some("b"));
        assert_eq!(warehouse(Some(" "), None), None);
        assert_eq!(warehouse(None, None), None);
    }
}
