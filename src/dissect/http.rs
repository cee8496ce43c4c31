//! HTTP/1.x request and response heads (see below).
