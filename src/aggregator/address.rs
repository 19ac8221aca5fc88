//! Addresses of Ganglia sources, written the way operators think of them:
//! `host`, `host:port` (a gmond), or with a scheme for gmetad's ports —
//! `xml://host:8651`, `interactive://host:8652/cluster?filter=summary`, `http://host:8652/cluster`.

use std::fmt;
use std::str::FromStr;

/// What kind of endpoint an address is and what to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A gmond TCP accept channel: connect and read.
    Gmond,
    /// A gmetad xml_port: connect and read the full dump.
    GmetadXml,
    /// A gmetad interactive_port: send one query line, read the answer.
    Interactive {
        /// The query, e.g. `/clusterA` or `/?filter=summary`.
        path: String,
    },
    /// The interactive port's HTTP form: `GET path HTTP/1.0`.
    Http {
        /// The request path.
        path: String,
    },
}

/// One address of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// What speaks there.
    pub endpoint: Endpoint,
}

/// Why an address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing given.
    #[error("empty address")]
    Empty,
    /// The scheme is not one Gantry knows.
    #[error("unknown scheme '{0}' (use gmond, xml, interactive or http)")]
    Scheme(String),
    /// The port is not a number from 1 to 65535.
    #[error("bad port '{0}'")]
    Port(String),
    /// A path where none belongs, or a malformed one.
    #[error("{0}")]
    Path(String),
}

impl SourceAddress {
    /// The request to send after connecting, if any.
    pub fn request(&self) -> Option<String> {
        match &self.endpoint {
            Endpoint::Gmond | Endpoint::GmetadXml => None,
            Endpoint::Interactive { path } => Some(format!("{path}\n")),
            Endpoint::Http { path } => Some(format!("GET {path} HTTP/1.0\r\n\r\n")),
        }
    }

    /// `host:port` as used to connect (brackets around IPv6 literals).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.endpoint {
            Endpoint::Gmond => write!(f, "{}", self.authority()),
            Endpoint::GmetadXml => write!(f, "xml://{}", self.authority()),
            Endpoint::Interactive { path } => write!(f, "interactive://{}{path}", self.authority()),
            Endpoint::Http { path } => write!(f, "http://{}{path}", self.authority()),
        }
    }
}

impl FromStr for SourceAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("gmond".to_string(), s),
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let default_port = match scheme.as_str() {
            "gmond" => 8649,
            "xml" | "gmetad" => 8651,
            "interactive" | "http" => 8652,
            other => return Err(AddressError::Scheme(other.to_string())),
        };
        let (host, port) = split_host_port(hostport, default_port)?;
        let endpoint = match scheme.as_str() {
            "gmond" | "xml" | "gmetad" => {
                if path.is_some_and(|p| p != "/") {
                    return Err(AddressError::Path(format!(
                        "a {scheme} address takes no path (did you mean interactive://{hostport}{}?)",
                        path.unwrap_or("")
                    )));
                }
                if scheme == "gmond" {
                    Endpoint::Gmond
                } else {
                    Endpoint::GmetadXml
                }
            }
            _ => {
                let path = path.unwrap_or("/").to_string();
                if path.contains(['\n', '\r']) || path.len() > 2048 {
                    return Err(AddressError::Path(
                        "query path must be one line of at most 2048 bytes".into(),
                    ));
                }
                if scheme == "http" {
                    Endpoint::Http { path }
                } else {
                    Endpoint::Interactive { path }
                }
            }
        };
        if host.is_empty() {
            return Err(AddressError::Empty);
        }
        Ok(Self {
            host,
            port,
            endpoint,
        })
    }
}

fn split_host_port(s: &str, default_port: u16) -> Result<(String, u16), AddressError> {
    let parse_port = |p: &str| -> Result<u16, AddressError> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(AddressError::Port(p.to_string())),
        }
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| AddressError::Path(format!("unclosed '[' in '{s}'")))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => default_port,
            None => return Err(AddressError::Port(after.to_string())),
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Ok((s.to_string(), default_port)),
        Some((host, port)) => Ok((host.to_string(), parse_port(port)?)),
        None => Ok((s.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SourceAddress {
        s.parse().unwrap()
    }

    #[test]
    fn gmond_defaults() {
        let a = p("node1");
        assert_eq!(
            (a.host.as_str(), a.port, &a.endpoint),
            ("node1", 8649, &Endpoint::Gmond)
        );
        assert_eq!(p("10.0.0.1:8659").port, 8659);
        assert_eq!(a.request(), None);
        assert_eq!(a.to_string(), "node1:8649");
    }

    #[test]
    fn gmetad_ports() {
        let x = p("xml://head");
        assert_eq!((x.port, x.endpoint), (8651, Endpoint::GmetadXml));
        let i = p("interactive://head/clusterA?filter=summary");
        assert_eq!(i.port, 8652);
        assert_eq!(i.request().as_deref(), Some("/clusterA?filter=summary\n"));
        let h = p("http://head:9000/clusterA");
        assert_eq!(
            h.request().as_deref(),
            Some("GET /clusterA HTTP/1.0\r\n\r\n")
        );
        assert_eq!(p("interactive://head").request().as_deref(), Some("/\n"));
        assert_eq!(h.to_string(), "http://head:9000/clusterA");
    }

    #[test]
    fn ipv6() {
        let a = p("[::1]:8650");
        assert_eq!((a.host.as_str(), a.port), ("::1", 8650));
        assert_eq!(a.authority(), "[::1]:8650");
        assert_eq!(p("::1").port, 8649);
    }

    #[test]
    fn errors_say_what() {
        assert_eq!("".parse::<SourceAddress>(), Err(AddressError::Empty));
        assert_eq!(
            "ftp://x".parse::<SourceAddress>(),
            Err(AddressError::Scheme("ftp".into()))
        );
        assert_eq!(
            "x:0".parse::<SourceAddress>(),
            Err(AddressError::Port("0".into()))
        );
        assert_eq!(
            "x:99999".parse::<SourceAddress>(),
            Err(AddressError::Port("99999".into()))
        );
        assert!(matches!(
            "x:8649/c".parse::<SourceAddress>(),
            Err(AddressError::Path(_))
        ));
    }
}
