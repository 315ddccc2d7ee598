//! The integration tests of `justat-mail`: real messages through a real SMTP connection.

mod sink;
mod smtp;
