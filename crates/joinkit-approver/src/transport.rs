//! The kube-rs client over joinkit-core's verified connection: a `tower` service that hands
//! each request to [`ApiTransport::send`] (the API server that the kubeconfig's or the pod's CA
//! verified, the credentials sent only inside that TLS session). kube-rs's own TLS and
//! credential code is not compiled in (`kube-client` without `rustls-tls`/`openssl-tls`).
//! Request bodies (a Lease, an Event) are small and collected before sending, at most 1 MiB.

use futures::future::BoxFuture;
use http_body_util::BodyExt;
use joinkit_core::client::api::{ApiClient, ApiTransport};
use std::task::{Context, Poll};

/// The largest request body the approver sends (an Event's note is at most 1 KiB).
const MAX_REQUEST_BODY: usize = 1 << 20;

/// The tower service.
#[derive(Clone)]
struct Service(ApiTransport);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<http::Request<kube_client::client::Body>> for Service {
    type Response = http::Response<reqwest::Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<kube_client::client::Body>) -> Self::Future {
        let t = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = http_body_util::Limited::new(body, MAX_REQUEST_BODY).collect().await?.to_bytes();
            Ok(t.send(http::Request::from_parts(parts, bytes)).await?)
        })
    }
}

/// A kube-rs client for `client`'s API server and credentials (default namespace `default`).
pub(crate) fn kube_client(client: &ApiClient) -> kube_client::Client {
    kube_client::Client::new(Service(client.transport()), "default")
}
