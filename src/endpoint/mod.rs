//! gw's local endpoint: an HTTP server on 127.0.0.1 for the clients that cannot refresh a
//! token themselves (Gemini CLI, OpenCode, the Databricks CLI and SDKs) and for `gw serve`.
//!
//! It lives exactly as long as its [`Running`] handle: `gw exec` starts it, runs the child,
//! and stops it when the child ends. Every request is judged first ([`route::judge`]: the
//! session key, a loopback `Host`, model paths only); model traffic is forwarded to the
//! profile's workspace with a token from memory ([`tokens`]) and streamed back
//! ([`forward`]); the metadata service answers the SDKs. Connections, header sizes, idle time
//! and bodies are bounded. The key and tokens never reach a log line.

pub mod forward;
pub mod route;
pub mod tokens;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::exchange::DatabricksToken;
use crate::launch::LocalEndpoint;
use crate::secret::Secret;
use tokens::{TokenSource, Tokens};

/// Most connections served at once (agents open a handful; a benchmark 64).
const MAX_CONNECTIONS: usize = 256;
/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// How long a connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// What every request handler shares.
pub struct Shared {
    /// The workspace URL (no trailing slash).
    pub host: String,
    pub key: Secret,
    pub port: u16,
    pub tokens: Arc<Tokens>,
    /// The HTTP client for upstream calls ([`crate::http::Http::streaming_client`]).
    pub client: reqwest::Client,
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start the local endpoint: {0}")]
    Runtime(std::io::Error),
}

/// A running endpoint; dropping it (or [`Running::stop`]) closes the port.
pub struct Running {
    addr: SocketAddr,
    key: Secret,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// The addresses a client is given.
    pub fn local(&self) -> LocalEndpoint {
        let base = format!("http://{}/k/{}", self.addr, self.key.expose());
        LocalEndpoint {
            metadata_url: Secret::new(format!("{base}/metadata")),
            base_url: Secret::new(base),
            key: self.key.clone(),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stop serving and close the port (waits for the server thread).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Start serving on 127.0.0.1:`port` (0: ephemeral) for the workspace `host`, beginning with
/// `first` and refreshing from `source`.
pub fn start(
    host: &str,
    port: u16,
    client: reqwest::Client,
    first: DatabricksToken,
    source: Arc<dyn TokenSource>,
) -> Result<Running, StartError> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|source| StartError::Bind { port, source })?;
    listener
        .set_nonblocking(true)
        .map_err(StartError::Runtime)?;
    let addr = listener.local_addr().map_err(StartError::Runtime)?;
    let key = Secret::new(crate::secret::random_token(32));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gw-endpoint")
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let host = host.trim_end_matches('/').to_owned();
    let shared_key = key.clone();
    let thread = std::thread::Builder::new()
        .name("gw-endpoint".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("gw: the local endpoint cannot listen: {e}");
                        return;
                    }
                };
                let shared = Arc::new(Shared {
                    host,
                    key: shared_key,
                    port: addr.port(),
                    tokens: Tokens::start(first, source),
                    client,
                });
                serve(listener, shared, stop_rx).await;
            });
            runtime.shutdown_timeout(Duration::from_millis(200));
        })
        .map_err(StartError::Runtime)?;
    Ok(Running {
        addr,
        key,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Full: close at once rather than queue without bound.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// One request: judged, then carried out.
async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<forward::Body> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let heads = route::Heads {
        host: header("host"),
        authorization: header("authorization"),
        x_api_key: header("x-api-key"),
        x_goog_api_key: header("x-goog-api-key"),
        metadata_version: header("x-databricks-metadata-version"),
        databricks_host: header("x-databricks-host"),
    };
    let expect = route::Expect {
        port: shared.port,
        key: shared.key.expose(),
        host: &shared.host,
    };
    let verdict = route::judge(req.method().as_str(), &target, &heads, &expect);
    match verdict {
        route::Route::Reject { status, reason } => {
            crate::diag::debug!("local endpoint: refused a request ({status}: {reason})");
            forward::error(status, &format!("gw: {reason}"))
        }
        route::Route::Metadata => forward::metadata(shared).await,
        route::Route::Model { path_and_query } => {
            crate::diag::debug!(
                "local endpoint: {} {}",
                req.method(),
                path_and_query.split('?').next().unwrap_or("")
            );
            forward::model(shared, req, &path_and_query).await
        }
    }
}
