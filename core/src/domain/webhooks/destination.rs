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
    #[error("The url may not be greater than {MAX_URL} characters.")]
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
    match embedded_v4(ip) {
        Embedded::None => {}
        Embedded::One(v4) => return is_public_v4(v4),
        Embedded::Two(a, b) => return is_public_v4(a) && is_public_v4(b),
        Embedded::Ambiguous => return false,
    }
    let s = ip.segments();
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

/// The IPv4 address(es) an IPv6 address carries, when it is one of the forms that reach an IPv4
/// host: such an address is only as public as the IPv4 one inside it.
#[derive(Debug, PartialEq, Eq)]
enum Embedded {
    None,
    One(Ipv4Addr),
    /// Teredo: the server and the client address.
    Two(Ipv4Addr, Ipv4Addr),
    /// A translation prefix whose IPv4 position cannot be told from the address alone.
    Ambiguous,
}

fn embedded_v4(ip: Ipv6Addr) -> Embedded {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-translated (SIIT) ::ffff:0:a.b.c.d.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => {
            Embedded::One(v4(hi, lo))
        }
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Embedded::One(v4(hi, lo)),
        // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215): judged in its /96 form; with a
        // shorter prefix the IPv4 bits sit elsewhere, so any other address in it is refused.
        [0x64, 0xff9b, 1, 0, 0, 0, hi, lo] => Embedded::One(v4(hi, lo)),
        [0x64, 0xff9b, 1, ..] => Embedded::Ambiguous,
        // 6to4 2002:a.b.c.d::/48.
        [0x2002, hi, lo, ..] => Embedded::One(v4(hi, lo)),
        // Teredo 2001:0::/32: the server's IPv4 in clear, the client's with every bit flipped.
        [0x2001, 0, server_hi, server_lo, _, _, client_hi, client_lo] => {
            Embedded::Two(v4(server_hi, server_lo), v4(!client_hi, !client_lo))
        }
        _ => Embedded::None,
    }
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
            // IPv6 forms that carry 169.254.169.254 (or another private IPv4).
            "2002:a9fe:a9fe::",
            "2002:a9fe:a9fe:1::1",
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1:a9fe:a9:fe00::",
            "64:ff9b::a9fe:a9fe",
            "::ffff:0:a9fe:a9fe",
            "::ffff:169.254.169.254",
            "::ffff:0:10.0.0.1",
            "2001:0:5db8:d70e:0:0:5601:5601", // Teredo, client 169.254.169.254
            "2001:0:a00:1::5db8:d70e",        // Teredo through a private server
        ] {
            assert!(!public(ip), "{ip} counted as public");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::808:808",
            "64:ff9b:1::808:808",
            "2002:808:808::1",
            "2001:0:5db8:d70e::f7f7:f7f7", // Teredo, client 8.8.8.8
        ] {
            assert!(public(ip), "{ip} counted as private");
        }
    }

    #[test]
    fn teredo_client_address_is_the_last_32_bits_flipped() {
        let ip: Ipv6Addr = "2001:0:5db8:d70e::5601:5601".parse().unwrap();
        assert_eq!(
            embedded_v4(ip),
            Embedded::Two(
                Ipv4Addr::new(93, 184, 215, 14),
                Ipv4Addr::new(169, 254, 169, 254)
            )
        );
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
