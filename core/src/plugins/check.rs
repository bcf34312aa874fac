//! What a manifest must satisfy before its plugin is mounted, and its endpoints as routes.

use std::collections::{BTreeMap, HashSet};

use escalated_plugin_sdk::{EndpointSpec, Manifest};
use poem::http::Method;

use crate::domain::abilities::Ability;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const SLUG_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One endpoint of a plugin, ready to match requests.
#[derive(Debug, Clone)]
pub struct Route {
    /// The endpoint's index in the manifest.
    pub index: usize,
    pub method: Method,
    /// `None`: any valid staff token.
    pub ability: Option<Ability>,
    segments: Vec<Segment>,
}

impl Route {
    /// The `:name` values when `path` (below the plugin root) fits this route.
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let parts = split(path);
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(text) if text == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    let value = percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .ok()?
                        .into_owned();
                    params.insert(name.clone(), value);
                }
            }
        }
        Some(params)
    }

    /// The path in OpenAPI's notation: `/ratings/{ticket}`.
    pub fn openapi_path(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Param(name) => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
        }
        out
    }

    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// `/a/b/` → `["a", "b", ""]`; `/` → `[""]`.
fn split(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= SLUG_MAX
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if !path.starts_with('/') || path.len() < 2 || path.ends_with('/') {
        return Err(format!(
            "path {path:?} must start with '/', name something and not end with '/'"
        ));
    }
    let mut names = HashSet::new();
    split(path)
        .into_iter()
        .map(|part| {
            if let Some(name) = part.strip_prefix(':') {
                let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok || !names.insert(name.to_string()) {
                    return Err(format!("path {path:?}: bad or repeated parameter :{name}"));
                }
                Ok(Segment::Param(name.to_string()))
            } else if !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
            {
                Ok(Segment::Literal(part.to_string()))
            } else {
                Err(format!("path {path:?}: segment {part:?} is not allowed"))
            }
        })
        .collect()
}

fn route(index: usize, endpoint: &EndpointSpec) -> Result<Route, String> {
    let name = &endpoint.method;
    if !METHODS.contains(&name.as_str()) {
        return Err(format!(
            "endpoint {}: method {name:?} is not one of {METHODS:?}",
            endpoint.path
        ));
    }
    let method = Method::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
    let ability = match endpoint.ability.as_deref() {
        None => None,
        Some(text) => Some(Ability::parse(text).ok_or_else(|| {
            format!(
                "endpoint {name} {}: ability {text:?} is not tickets:read, tickets:write, \
                 tickets:delete or admin",
                endpoint.path
            )
        })?),
    };
    if endpoint.summary.trim().is_empty() {
        return Err(format!(
            "endpoint {name} {}: summary is empty",
            endpoint.path
        ));
    }
    if !(200..=299).contains(&endpoint.success_status) {
        return Err(format!(
            "endpoint {name} {}: success_status must be 2xx",
            endpoint.path
        ));
    }
    for schema in [&endpoint.request_schema, &endpoint.response_schema] {
        if schema.as_ref().is_some_and(|s| !s.is_object()) {
            return Err(format!(
                "endpoint {name} {}: a schema must be a JSON object",
                endpoint.path
            ));
        }
    }
    Ok(Route {
        index,
        method,
        ability,
        segments: parse_path(&endpoint.path)?,
    })
}

/// Checks a manifest against this server (`host_version`, e.g. `0.1.0`) and returns its routes.
pub fn manifest(manifest: &Manifest, host_version: &str) -> Result<Vec<Route>, String> {
    if !valid_slug(&manifest.slug) {
        return Err(format!(
            "slug {:?} must be 1 to {SLUG_MAX} characters of a-z, 0-9 and '-'",
            manifest.slug
        ));
    }
    if manifest.name.trim().is_empty() || manifest.version.trim().is_empty() {
        return Err("name and version must not be empty".into());
    }
    let requirement = semver::VersionReq::parse(&manifest.host_versions).map_err(|e| {
        format!(
            "host_versions {:?} is not a semver requirement: {e}",
            manifest.host_versions
        )
    })?;
    let version = semver::Version::parse(host_version).map_err(|e| e.to_string())?;
    if !requirement.matches(&version) {
        return Err(format!(
            "supports server versions {}, this server is {host_version}",
            manifest.host_versions
        ));
    }
    let routes = manifest
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| route(i, e))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    for route in &routes {
        // `:a` and `:b` in the same place would be the same route.
        let shape: Vec<_> = route
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(t) => t.as_str(),
                Segment::Param(_) => ":",
            })
            .collect();
        if !seen.insert((route.method.clone(), shape)) {
            return Err(format!(
                "endpoint {} {} has the route of an earlier endpoint",
                route.method, manifest.endpoints[route.index].path
            ));
        }
    }
    if manifest.events.iter().any(|e| e.trim().is_empty()) {
        return Err("an event name is empty".into());
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str, ability: Option<&str>) -> Manifest {
        Manifest {
            slug: "csat".into(),
            name: "CSAT".into(),
            version: "1.0.0".into(),
            description: String::new(),
            host_versions: ">=0.1, <1".into(),
            endpoints: vec![EndpointSpec {
                method: "GET".into(),
                path: path.into(),
                summary: "Show".into(),
                description: String::new(),
                ability: ability.map(str::to_string),
                request_schema: None,
                response_schema: None,
                success_status: 200,
            }],
            events: vec![],
        }
    }

    #[test]
    fn routes_match_and_decode_parameters() {
        let routes = manifest(&sample("/ratings/:ticket", Some("tickets:read")), "0.1.0").unwrap();
        let route = &routes[0];
        assert_eq!(route.ability, Some(Ability::TicketsRead));
        assert_eq!(route.openapi_path(), "/ratings/{ticket}");
        let params = route.matches("/ratings/ESC%2D1").unwrap();
        assert_eq!(params["ticket"], "ESC-1");
        assert!(route.matches("/ratings/").is_none());
        assert!(route.matches("/ratings/a/b").is_none());
        assert!(route.matches("/other/a").is_none());
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let err = |m: Manifest| manifest(&m, "0.1.0").unwrap_err();
        assert!(err(sample("/x", Some("root"))).contains("ability \"root\""));
        assert!(err(sample("x", None)).contains("must start with '/'"));
        assert!(err(sample("/a/:B", None)).contains(":B"));
        let mut m = sample("/x", None);
        m.slug = "Hello World".into();
        assert!(err(m).contains("slug"));
        let mut m = sample("/x", None);
        m.host_versions = ">=2".into();
        assert_eq!(err(m), "supports server versions >=2, this server is 0.1.0");
        let mut m = sample("/x/:a", None);
        m.endpoints.push(EndpointSpec {
            path: "/x/:b".into(),
            ..m.endpoints[0].clone()
        });
        assert!(err(m).contains("GET /x/:b has the route of an earlier endpoint"));
    }
}
