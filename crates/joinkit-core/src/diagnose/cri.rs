//! The CRI `RuntimeService/Version` call that kubeadm's preflight and crictl make to find out
//! whether a container runtime answers and which CRI it serves (kubernetes/cri-api
//! `pkg/apis/runtime/v1/api.proto`: `VersionRequest`, `VersionResponse`; kubeadm
//! `cmd/kubeadm/app/util/runtime/runtime.go`, crictl's "validate service connection": "CRI v1
//! runtime API is not implemented for endpoint"). gRPC over HTTP/2 on the runtime's unix
//! socket: tonic's client without its transport (hyper's HTTP/2 connection is the transport),
//! the two messages declared with prost derives (no protoc at build time). Bounded in time.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The bound for one CRI check (connect, HTTP/2 handshake, the call and its fallback).
pub const CRI_TIMEOUT: Duration = Duration::from_secs(2);

/// The CRI v1 Version method (kubelet 1.26+ and kubeadm speak only v1).
pub const V1_VERSION: &str = "/runtime.v1.RuntimeService/Version";
/// The CRI v1alpha2 Version method (containerd < 1.6 serves only this one).
pub const V1ALPHA2_VERSION: &str = "/runtime.v1alpha2.RuntimeService/Version";

/// `runtime.v1.VersionRequest` (the same message in v1alpha2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionRequest {
    /// The version of the kubelet's runtime API.
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `runtime.v1.VersionResponse` (the same message in v1alpha2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionResponse {
    /// Version of the kubelet runtime API (`0.1.0`).
    #[prost(string, tag = "1")]
    pub version: String,
    /// Name of the container runtime (`containerd`, `cri-o`, `docker`).
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    /// Version of the container runtime (`v1.7.13`, `1.30.2`).
    #[prost(string, tag = "3")]
    pub runtime_version: String,
    /// API version of the container runtime (`v1`, `v1alpha2`).
    #[prost(string, tag = "4")]
    pub runtime_api_version: String,
}

/// Why the Version call did not give a CRI v1 answer.
#[derive(Debug, Clone)]
pub enum CriError {
    /// Nothing listens: no socket, or connection refused (the runtime is not running).
    NotRunning(String),
    /// `runtime.v1.RuntimeService` is not implemented; `v1alpha2` is the runtime's answer to the
    /// older API if it gave one (containerd < 1.6), `message` the gRPC status message.
    V1Unimplemented {
        /// The gRPC status message of the v1 call.
        message: String,
        /// The answer to the v1alpha2 call, if any.
        v1alpha2: Option<VersionResponse>,
    },
    /// No answer within the bound.
    Timeout(Duration),
    /// Any other error (permission denied, not HTTP/2, another gRPC status).
    Failed(String),
}

/// One HTTP/2 connection as the tower service tonic's client calls.
struct H2(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

type H2Future = Pin<Box<dyn Future<Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>> + Send>>;

impl tower_service::Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = H2Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> H2Future {
        Box::pin(self.0.send_request(req))
    }
}

/// Untrusted text from the runtime, shortened for a message.
fn shown(s: &str) -> String {
    crate::redact::truncate(&crate::redact::redact(s), 300)
}

enum CallError {
    Connect(std::io::Error),
    Status(tonic::Status),
    Other(String),
}

/// One Version call on a fresh connection to `socket`.
async fn call(socket: &Path, method: &'static str) -> Result<VersionResponse, CallError> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(CallError::Connect)?;
    let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, tonic::body::Body>(TokioIo::new(stream))
        .await
        .map_err(|e| CallError::Other(format!("HTTP/2 handshake failed: {e}")))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut grpc = tonic::client::Grpc::with_origin(H2(send), http::Uri::from_static("http://localhost"));
    let result = async {
        grpc.ready().await.map_err(|e| CallError::Other(format!("connection not ready: {e}")))?;
        let codec = tonic_prost::ProstCodec::<VersionRequest, VersionResponse>::default();
        let path = http::uri::PathAndQuery::from_static(method);
        grpc.unary(tonic::Request::new(VersionRequest { version: "v1".into() }), path, codec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(CallError::Status)
    }
    .await;
    driver.abort();
    result
}

/// The runtime's answer to `runtime.v1.RuntimeService/Version` on the unix socket `socket`,
/// within `bound`. When v1 is `Unimplemented`, the v1alpha2 call is tried in the time left to
/// name the runtime that does not serve v1.
pub async fn version(socket: &Path, bound: Duration) -> Result<VersionResponse, CriError> {
    let deadline = Instant::now() + bound;
    let left = || deadline.saturating_duration_since(Instant::now());
    let v1 = match tokio::time::timeout(left(), call(socket, V1_VERSION)).await {
        Err(_) => return Err(CriError::Timeout(bound)),
        Ok(r) => r,
    };
    match v1 {
        Ok(v) => Ok(v),
        Err(CallError::Connect(e)) => Err(match e.kind() {
            std::io::ErrorKind::NotFound => CriError::NotRunning(format!("no socket at {}", socket.display())),
            std::io::ErrorKind::ConnectionRefused => CriError::NotRunning(format!(
                "connection refused on {} (nothing listens: a stale socket file, or not a socket)",
                socket.display()
            )),
            _ => CriError::Failed(format!("cannot connect to {}: {e}", socket.display())),
        }),
        Err(CallError::Other(e)) => Err(CriError::Failed(e)),
        Err(CallError::Status(s)) if s.code() == tonic::Code::Unimplemented => {
            let message = shown(s.message());
            let v1alpha2 = match tokio::time::timeout(left(), call(socket, V1ALPHA2_VERSION)).await {
                Ok(Ok(v)) => Some(v),
                _ => None,
            };
            Err(CriError::V1Unimplemented { message, v1alpha2 })
        }
        Err(CallError::Status(s)) => {
            Err(CriError::Failed(format!("gRPC error: code = {:?} desc = {}", s.code(), shown(s.message()))))
        }
    }
}
