//! Where a webhook may be sent (SSRF protection): only to public addresses, unless
//! `webhooks.allow_private` is set. A URL is checked when it is saved and again at every
//! delivery, through the HTTP client's resolver, so a name that later resolves to a private
//! address (DNS rebinding) is refused at connection time.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

pub const MAX_URL: usize = 2048;

/// Why a URL is refused, as the client reads it on `url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The url must be a valid http or https URL.")]
    Malformed,
    #[error("The url may not be greater than 2048 characters.")]
    TooLong,
    #[error("The url host could not be resolved.")]
    Unresolvable,
    #[error("The url must point to a public address (not loopback, private or link-local).")]
    NotPublic,
}

/// Parses an http(s) URL with a host.
pub fn parse(url: &str) -> Result<Url, Refusal> {
    if url.chars().count() > MAX_URL {
        return Err(Refusal::TooLong);
    }
    let parsed = Url::parse(url.trim()).map_err(|_| Refusal::Malformed)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Refusal::Malformed);
    }
    Ok(parsed)
}

/// Parses `url` and, unless private targets are allowed, resolves its host and requires every
/// address to be public.
pub async fn check(url: &str, allow_private: bool) -> Result<Url, Refusal> {
    let parsed = parse(url)?;
    if !allow_private {
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(80);
        resolve_public(host, port).await?;
    }
    Ok(parsed)
}

/// The host's addresses, if it resolves and all of them are public. An IP literal (`[::1]`
/// included) is judged as it is.
pub async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| Refusal::Unresolvable)?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    // One private address is enough to refuse: the client could connect to any of them.
    if addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Refusal::NotPublic);
    }
    Ok(addrs)
}

/// The HTTP client's resolver when private targets are not allowed.
pub struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve_public(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl PublicResolver {
    pub fn shared() -> Arc<PublicResolver> {
        Arc::new(PublicResolver)
    }
}

/// A globally routable unicast address (std's `IpAddr::is_global` is not stable yet).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network", 0.0.0.0 included
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // IPv4-mapped (::ffff:a.b.c.d) and the NAT64 prefix carry an IPv4 address: judge that one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [.., hi, lo] = s;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated) and the like
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn private_and_special_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!public(ip), "{ip} counted as public");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} counted as private");
        }
    }

    #[tokio::test]
    async fn literals_and_localhost_are_refused() {
        for url in [
            "http://127.0.0.1/hook",
            "http://10.0.0.5:8080/hook",
            "http://[::1]/hook",
            "http://localhost/hook",
        ] {
            assert_eq!(check(url, false).await, Err(Refusal::NotPublic), "{url}");
            assert!(check(url, true).await.is_ok());
        }
        assert_eq!(
            check("ftp://example.com", true).await,
            Err(Refusal::Malformed)
        );
        assert_eq!(check("not a url", true).await, Err(Refusal::Malformed));
    }
}
