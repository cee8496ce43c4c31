//! TLS alerts and the registry's names for them.

/// An alert's level and description code (RFC 8446 6), read from a record in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertMessage {
    pub level: u8,
    pub description: u8,
}

impl AlertMessage {
    pub fn level_name(self) -> &'static str {
        match self.level {
            1 => "warning",
            2 => "fatal",
            _ => "unknown",
        }
    }

    /// The registry's name (`bad_certificate`), as tshark and OpenSSL print it; `unknown` for a
    /// code no RFC assigns.
    pub fn description_name(self) -> &'static str {
        ALERT_NAMES.iter().find(|(code, _)| *code == self.description).map_or("unknown", |(_, name)| name)
    }
}

/// IANA's TLS Alert registry (RFC 5246, 8446, 7301, 7507, 8879, ECH).
const ALERT_NAMES: [(u8, &str); 35] = [
    (0, "close_notify"),
    (10, "unexpected_message"),
    (20, "bad_record_mac"),
    (21, "decryption_failed"),
    (22, "record_overflow"),
    (30, "decompression_failure"),
    (40, "handshake_failure"),
    (41, "no_certificate"),
    (42, "bad_certificate"),
    (43, "unsupported_certificate"),
    (44, "certificate_revoked"),
    (45, "certificate_expired"),
    (46, "certificate_unknown"),
    (47, "illegal_parameter"),
    (48, "unknown_ca"),
    (49, "access_denied"),
    (50, "decode_error"),
    (51, "decrypt_error"),
    (60, "export_restriction"),
    (70, "protocol_version"),
    (71, "insufficient_security"),
    (80, "internal_error"),
    (86, "inappropriate_fallback"),
    (90, "user_canceled"),
    (100, "no_renegotiation"),
    (109, "missing_extension"),
    (110, "unsupported_extension"),
    (111, "certificate_unobtainable"),
    (112, "unrecognized_name"),
    (113, "bad_certificate_status_response"),
    (114, "bad_certificate_hash_value"),
    (115, "unknown_psk_identity"),
    (116, "certificate_required"),
    (120, "no_application_protocol"),
    (121, "ech_required"),
];
