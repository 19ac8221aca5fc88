//! Requests on the interactive port, read as gmetad 3.7.2 reads them (`server.c`): one line of
//! at most 2048 bytes, a path of `/`-separated element names, `?filter=summary`, an optional
//! HTTP form (`GET path HTTP/1.x`), and `*` wildcards in HTTP mode only.
//!
//! Extension (documented in docs/aggregator.md): `?history=RANGE` on a metric path, or with
//! `&metric=NAME` on a cluster or the root, answers a metric's history as JSON.

/// Longest request line gmetad reads.
pub const MAX_REQUEST: usize = 2048;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Path elements after the root (`/clusterA/node1` → `["clusterA", "node1"]`).
    pub path: Vec<String>,
    /// `?filter=summary`.
    pub summary: bool,
    /// The HTTP form was used: answer with headers; unknown elements give an empty parent.
    pub http: bool,
    /// `/status`: the JSON status answer.
    pub status: bool,
    /// `?history=RANGE`: the history extension.
    pub history: Option<String>,
    /// `&metric=NAME` with `history` on a cluster or the root.
    pub metric: Option<String>,
}

/// Characters that make gmetad close the connection without an answer.
const FORBIDDEN: &[char] = &[
    '>', '!', '@', '#', '$', '%', '`', ';', '|', '"', '\\', '\'', '<',
];

/// Parses one request line; `None` means "close without output", as gmetad does for an empty
/// line, a path not starting with `/`, or a forbidden character.
pub fn parse_request(line: &str) -> Option<Query> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (target, http) = match line.strip_prefix("GET ") {
        Some(rest) => {
            let target = rest
                .strip_suffix(" HTTP/1.0")
                .or_else(|| rest.strip_suffix(" HTTP/1.1"))
                .unwrap_or(rest);
            (target.trim(), true)
        }
        None => (line.trim(), false),
    };
    if target.is_empty() || !target.starts_with('/') || target.contains(FORBIDDEN) {
        return None;
    }
    let (path_part, query_part) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let path: Vec<String> = path_part
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut q = Query {
        status: path.len() == 1 && path[0] == "status",
        path,
        summary: false,
        http,
        history: None,
        metric: None,
    };
    for pair in query_part.unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("filter", "summary")) => q.summary = true,
            Some(("history", range)) => q.history = Some(range.to_string()),
            Some(("metric", name)) => q.metric = Some(name.to_string()),
            // gmetad logs and ignores unknown filters.
            _ => {}
        }
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmetad_paths() {
        let q = parse_request("/\n").unwrap();
        assert!(q.path.is_empty() && !q.summary && !q.http);
        let q = parse_request("/?filter=summary\r").unwrap();
        assert!(q.summary);
        let q = parse_request("/clusterA/a-node01/load_one").unwrap();
        assert_eq!(q.path, ["clusterA", "a-node01", "load_one"]);
        let q = parse_request("GET /clusterA?filter=summary HTTP/1.0").unwrap();
        assert!(q.http && q.summary);
        assert_eq!(q.path, ["clusterA"]);
        assert!(parse_request("/status").unwrap().status);
        assert!(!parse_request("/?filter=bogus").unwrap().summary);
    }

    #[test]
    fn malformed_requests_get_no_answer() {
        for bad in [
            "",
            "\n",
            "clusterA",
            "/a;b",
            "/a|b",
            "/<x>",
            "GET  HTTP/1.0",
            "/a\"b",
        ] {
            assert_eq!(parse_request(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn history_extension() {
        let q = parse_request("/clusterA/node1/load_one?history=day").unwrap();
        assert_eq!(q.history.as_deref(), Some("day"));
        let q = parse_request("/clusterA?history=week&metric=load_one").unwrap();
        assert_eq!(q.metric.as_deref(), Some("load_one"));
        // '%' is one of gmetad's forbidden characters, so nothing is percent-encoded.
        assert_eq!(parse_request("/a%20b"), None);
    }
}
