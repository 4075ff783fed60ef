//! `token list`, `token describe` and `token delete` as workflows (kubeadm's
//! `cmd/kubeadm/app/cmd/token.go` RunListTokens / RunDeleteTokens, plus joinkit's describe):
//! connect with the admin options (stage `kubeconfig`), then the API calls of [`super::manage`].
//! The CLI parses the token IDs and prints what these return.

use super::create::{connect, TokenStage};
use super::manage;
use super::BootstrapToken;
use crate::client::api::ApiOptions;
use crate::report::Report;

/// `token list`: the report (`tokens`) and the table text output prints.
pub async fn list(api: &ApiOptions, show_secrets: bool) -> (Report, String) {
    let mut report = Report::new("token list");
    let mut table = String::new();
    let Some(client) = connect(api, &mut report).await else { return (report, table) };
    report.start();
    match manage::list(&client, show_secrets).await {
        Ok((tokens, warnings)) => {
            for w in warnings {
                report.warn(TokenStage::List, w);
            }
            report.pass(TokenStage::List, format!("{} bootstrap token(s)", tokens.len()));
            table = manage::list_table(&tokens);
            report.set("tokens", &tokens);
        }
        Err(f) => report.fail(f),
    }
    (report, table)
}

/// `token describe`: the token ID (and the whole token when one was given) checked against
/// the cluster, after the connection's stages.
pub async fn describe(api: &ApiOptions, id: &str, given: Option<&BootstrapToken>, show_secret: bool) -> Report {
    let mut report = Report::new("token describe");
    let Some(client) = connect(api, &mut report).await else { return report };
    match manage::describe(&client, id, given, show_secret).await {
        Ok(mut r) => {
            r.prepend_stages(&report);
            r
        }
        Err(f) => {
            report.fail(f);
            report
        }
    }
}

/// `token delete`: one `delete` stage per token ID, after the connection's stages.
pub async fn delete(api: &ApiOptions, ids: &[String]) -> Report {
    let mut report = Report::new("token delete");
    let Some(client) = connect(api, &mut report).await else { return report };
    let mut r = manage::delete(&client, ids).await;
    r.prepend_stages(&report);
    r
}
