//! Connections that a handler can close without answering.
//!
//! The server cannot drop a connection from inside a handler, so every
//! accepted stream is wrapped: once a handler closes its [`Connection`],
//! the stream fails every read and write, the server drops the connection
//! (closing the socket) instead of sending the response it was about to,
//! and the client sees the connection end with no status line.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The fake's listener: TCP, with streams that a handler can close.
pub(crate) struct Listener(pub(crate) TcpListener);

/// A handler's hold on the connection its request came on (the handler's
/// `ConnectInfo`).
#[derive(Clone, Default)]
pub(crate) struct Connection(Arc<AtomicBool>);

impl Connection {
    /// Fails the connection from now on: whatever the server sends next is
    /// not sent, and the connection is dropped.
    pub(crate) fn close(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn closed(&self) -> Option<io::Error> {
        self.0
            .load(Ordering::Acquire)
            .then(|| io::Error::new(io::ErrorKind::ConnectionAborted, "closed by a fault"))
    }
}

/// An accepted TCP stream and the switch that closes it.
pub(crate) struct Stream {
    tcp: TcpStream,
    connection: Connection,
}

impl axum::serve::Listener for Listener {
    type Io = Stream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Stream, SocketAddr) {
        // Tokio's listener as axum serves it, retrying failed accepts.
        let (tcp, addr) = axum::serve::Listener::accept(&mut self.0).await;
        let connection = Connection::default();
        (Stream { tcp, connection }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, Listener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Connection {
        stream.io().connection.clone()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.connection.closed() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut self.tcp).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.connection.closed() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut self.tcp).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.connection.closed() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut self.tcp).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
