//! `token create` as a workflow (kubeadm's `cmd/kubeadm/app/cmd/token.go` RunCreateToken):
//! check the options, connect with an admin kubeconfig, create the bootstrap token Secret, wait
//! (bounded) for the bootstrapsigner to sign cluster-info, and say what to print: the token, the
//! `kubeadm join` command line or a JoinConfiguration.

use super::manage::{self, TokenSpec};
use super::BootstrapToken;
use crate::client::api::{ApiClient, ApiOptions};
use crate::config::{self, JoinConfig};
use crate::error::{Code, Failure};
use crate::report::{Common, Report};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

crate::stages! {
    /// The stages of the token commands that talk to the API (after [`Common::Input`]).
    pub enum TokenStage {
        /// The admin kubeconfig is loaded and the client built.
        Kubeconfig = "kubeconfig",
        /// The bootstrap token Secret is created.
        Create = "create",
        /// cluster-info carries the token's signature.
        Signature = "signature",
        /// The bootstrap token Secrets are listed.
        List = "list",
    }
}

/// What `token create` prints on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Print {
    /// The token alone.
    #[default]
    Token,
    /// The `kubeadm join ...` command line.
    JoinCommand,
    /// A v1beta4 JoinConfiguration (render-config's output).
    JoinConfig,
}

/// `token create`'s options.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The token and its Secret's fields.
    pub spec: TokenSpec,
    /// How long to wait for the signature; `None` does not wait (`--no-wait`).
    pub wait: Option<Duration>,
    /// What to print.
    pub print: Print,
    /// A control-plane join command with this certificate key.
    pub certificate_key: Option<SecretString>,
    /// The admin API access.
    pub api: ApiOptions,
}

impl CreateOptions {
    /// kubeadm's checks of the options, before any API call (`bad-token-options` at `input`).
    pub fn validate(&self) -> Result<(), Failure> {
        self.spec.validate()?;
        // kubeadm's RunCreateToken (cmd/kubeadm/app/cmd/token.go): a certificate key only
        // makes sense in a control-plane join command; printing the token alone with one given
        // is refused, not silently ignored. JOINKIT_CERTIFICATE_KEY reaches here only with
        // --control-plane (config::intent).
        if self.certificate_key.is_some() && self.print == Print::Token {
            let k = "cannot use --certificate-key without --print-join-command";
            return Err(Failure::new(
                Code::BadTokenOptions,
                Common::Input,
                "--certificate-key (or JOINKIT_CERTIFICATE_KEY) was given without --print-join-command: the token alone carries no certificate key",
            )
            .kubeadm(k)
            .cause("a certificate key belongs in a control-plane join command; without --print-join-command only the token is printed")
            .fix("add --print-join-command for a control-plane join command, or drop --certificate-key / unset JOINKIT_CERTIFICATE_KEY"));
        }
        if let Some(k) = &self.certificate_key {
            if let Some(e) = config::validate::certificate_key_error(k.expose_secret()) {
                return Err(Failure::new(Code::BadTokenOptions, Common::Input, e.clone())
                    .kubeadm(e)
                    .cause("the certificate key is not 64 hex digits")
                    .fix("use the key printed by `kubeadm init phase upload-certs --upload-certs`"));
            }
        }
        Ok(())
    }
}

/// The usages or groups of a comma-separated flag: trimmed, empty entries dropped.
pub fn list_values(values: &[String]) -> Vec<String> {
    values.iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

/// Connects with the admin options; records stage `kubeconfig` (its warnings too) or fails it.
pub async fn connect(api: &ApiOptions, report: &mut Report) -> Option<ApiClient> {
    report.start();
    match ApiClient::connect(api).await {
        Ok(c) => {
            for w in &c.warnings {
                report.warn(TokenStage::Kubeconfig, w.clone());
            }
            report.pass(TokenStage::Kubeconfig, format!("API server {}", c.server));
            Some(c)
        }
        Err(f) => {
            report.fail(f);
            None
        }
    }
}

/// Runs `token create` (options already [validated](CreateOptions::validate)): the report, and
/// the text to print on success (the token, join command or JoinConfiguration, newline-ended).
pub async fn create(o: &CreateOptions) -> (Report, String) {
    let mut report = Report::new("token create");
    let Some(client) = connect(&o.api, &mut report).await else { return (report, String::new()) };
    let token = &o.spec.token;
    report.start();
    match manage::create(&client, &o.spec).await {
        Ok(_) => report.pass(TokenStage::Create, format!("Secret kube-system/bootstrap-token-{} created", token.id())),
        Err(f) => {
            report.fail(f);
            return (report, String::new());
        }
    }
    report.set("token", token.expose());
    report.set("tokenId", token.id());
    let cluster_pins = wait_signature(&client, o, &mut report).await;
    if o.print == Print::Token {
        return (report, format!("{}\n", token.expose()));
    }
    let pins = manage::kubeconfig_pins(&client, &cluster_pins);
    let key = o.certificate_key.as_ref().map(ExposeSecret::expose_secret);
    let command = manage::join_command(&client.server, token, &pins, key);
    let printed = match o.print {
        Print::JoinConfig => join_config(token, client.server.trim_start_matches("https://"), &pins, key),
        _ => format!("{command}\n"),
    };
    report.set("joinCommand", command);
    (report, printed)
}

/// Waits for cluster-info's signature (stage `signature`); returns cluster-info's CA pins.
async fn wait_signature(client: &ApiClient, o: &CreateOptions, report: &mut Report) -> Vec<String> {
    let token = &o.spec.token;
    let Some(bound) = o.wait else {
        report.skip(TokenStage::Signature, "--no-wait");
        return Vec::new();
    };
    if !o.spec.usages.iter().any(|u| u == "signing") {
        report.warn(
            TokenStage::Signature,
            "the token has no signing usage: it is never signed and cannot be used for token discovery",
        );
        return Vec::new();
    }
    report.start();
    match manage::wait_signed(client, token, bound).await {
        Ok((true, pins)) => {
            report.pass(TokenStage::Signature, "cluster-info carries the token's signature: the join works now");
            pins
        }
        Ok((false, pins)) => {
            report.warn(TokenStage::Signature, format!("cluster-info carried no signature for {} after {}: the bootstrapsigner (kube-controller-manager) is probably not running; the join will fail with jws-missing or jws-none-signed until it is", token.id(), crate::duration::format(bound)));
            pins
        }
        Err(f) => {
            report.warn(TokenStage::Signature, format!("could not read cluster-info: {}", f.message));
            Vec::new()
        }
    }
}

/// The v1beta4 JoinConfiguration of a join with `token` (a control-plane join with a key).
fn join_config(token: &BootstrapToken, endpoint: &str, pins: &[String], key: Option<&str>) -> String {
    JoinConfig {
        token: Some(config::Secret::from(token.expose())),
        api_server_endpoint: Some(endpoint.to_string()),
        ca_cert_hashes: pins.to_vec(),
        has_bootstrap_token: true,
        control_plane: key.is_some(),
        certificate_key: key.map(config::Secret::from),
        ..JoinConfig::default()
    }
    .to_yaml(config::ApiVersion::V1beta4)
}
