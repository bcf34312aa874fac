//! Which route template a request path belongs to, and which methods that route answers.
//!
//! Built once from the OpenAPI document (so it cannot drift from the endpoints), plus the
//! routes outside it. Metrics label requests by template (`/support/api/v1/tickets/:reference`)
//! rather than by raw path, so ids in paths cannot grow the number of series; and a 405 names
//! the route's methods in `Allow`.

use poem::http::Method;

/// The label of a path that matches no route.
pub const UNMATCHED: &str = "unmatched";

/// A route's template and the methods it answers.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub template: String,
    pub methods: Vec<Method>,
}

pub struct RouteTable {
    router: matchit::Router<RouteInfo>,
}

impl RouteTable {
    /// The API routes of `spec` (an OpenAPI document) under `prefix`, and `extra` routes
    /// (template, methods) outside it.
    pub fn new(prefix: &str, spec: &str, extra: &[(&str, &[Method])]) -> RouteTable {
        let mut routes: Vec<(String, Vec<Method>)> = Vec::new();
        let document: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        if let Some(paths) = document["paths"].as_object() {
            for (path, operations) in paths {
                let methods = operations
                    .as_object()
                    .map(|ops| {
                        ops.keys()
                            .filter_map(|m| Method::from_bytes(m.to_uppercase().as_bytes()).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                routes.push((format!("{prefix}{path}"), methods));
            }
        }
        for (template, methods) in extra {
            routes.push((template.to_string(), methods.to_vec()));
        }
        let mut router = matchit::Router::new();
        for (template, mut methods) in routes {
            if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
                // poem answers HEAD wherever it answers GET.
                methods.push(Method::HEAD);
            }
            let info = RouteInfo {
                template: label(&template),
                methods,
            };
            // The matcher wants one name per parameter position; the label keeps the real one.
            if let Err(err) = router.insert(uniform_params(&template), info) {
                tracing::warn!(route = %template, error = %err, "route left out of the route table");
            }
        }
        RouteTable { router }
    }

    /// The route `path` belongs to.
    pub fn find(&self, path: &str) -> Option<&RouteInfo> {
        self.router.at(path).ok().map(|m| m.value)
    }

    /// The template of `path`'s route, or [`UNMATCHED`].
    pub fn template<'a>(&'a self, path: &str) -> &'a str {
        self.find(path).map_or(UNMATCHED, |r| r.template.as_str())
    }
}

/// `/tickets/{reference}/{*rest}` → `/tickets/:reference/*rest`: parameters as `:name`, so a
/// label value holds no braces (which simple readers of the text format trip on).
fn label(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if name.starts_with('*') => name.to_string(),
                Some(name) => format!(":{name}"),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// `/tickets/{reference}/replies/{id}` → `/tickets/{p}/replies/{p}`; a catch-all stays as it is.
fn uniform_params(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with("{*") {
                segment.to_string()
            } else if segment.starts_with('{') && segment.ends_with('}') {
                "{p}".to_string()
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The method as a metrics label: a standard method, else `other` (a client may send any token
/// as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_templates() {
        let spec = serde_json::json!({"paths": {
            "/tickets": {"get": {}},
            "/tickets/create": {"post": {}},
            "/tickets/{reference}": {"get": {}, "patch": {}, "delete": {}},
            "/tickets/{reference}/replies/{id}": {"get": {}},
        }})
        .to_string();
        let table = RouteTable::new("/api", &spec, &[("/healthz", &[Method::GET])]);
        assert_eq!(table.template("/api/tickets"), "/api/tickets");
        assert_eq!(table.template("/api/tickets/create"), "/api/tickets/create");
        assert_eq!(
            table.template("/api/tickets/ESC-00042"),
            "/api/tickets/:reference"
        );
        assert_eq!(
            table.template("/api/tickets/ESC-1/replies/7"),
            "/api/tickets/:reference/replies/:id"
        );
        assert_eq!(table.template("/healthz"), "/healthz");
        assert_eq!(table.template("/api/nope/1"), UNMATCHED);
        let methods = &table.find("/api/tickets/ESC-1").unwrap().methods;
        assert!(methods.contains(&Method::PATCH) && methods.contains(&Method::HEAD));
    }
}
