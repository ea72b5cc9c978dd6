//! Which addresses a document may be fetched from: public ones for any admitted host,
//! loopback and private ones only for hosts the user listed. Pure; used by the fetch on
//! the job worker task.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an address reaches, as far as fetching is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The internet.
    Public,
    /// This machine or the office network (loopback, private, link-local, shared
    /// CGNAT, unique local) or a range that is not routed publicly.
    Private,
    /// Never a document server: unspecified (`0.0.0.0` reaches this machine on
    /// Linux), multicast, broadcast.
    Never,
}

/// Classifies `ip`; IPv6 forms that carry an IPv4 address are classified by it.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if a == 0 || ip.is_multicast() || ip.is_broadcast() {
        return Reach::Never;
    }
    let private = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        // 100.64.0.0/10: shared address space (carrier-grade NAT), not the internet.
        || (a == 100 && (b & 0xc0) == 64)
        // 192.0.0.0/24: IETF protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        || ip.is_documentation()
        // 198.18.0.0/15: benchmarking.
        || (a == 198 && (b & 0xfe) == 18)
        // 240.0.0.0/4: reserved.
        || a >= 240;
    if private {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    if let Some(v4) = embedded_v4(ip) {
        return reach_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_multicast() {
        return Reach::Never;
    }
    let private = ip.is_loopback()
        // ::/96, IPv4-compatible (deprecated) and the rest of ::/8.
        || s[0] == 0
        // fe80::/10 link-local, fec0::/10 site-local (deprecated).
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // fc00::/7: unique local (the office network).
        || (s[0] & 0xfe00) == 0xfc00
        // 64:ff9b:1::/48: local-use NAT64.
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        // 100::/64: discard.
        || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        // 2001::/32 Teredo (hides an IPv4 address) and 2001:db8::/32 documentation.
        || (s[0] == 0x2001 && (s[1] == 0 || s[1] == 0xdb8));
    if private {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002:aabb:ccdd::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(from(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(from(s[1], s[2]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Reach {
        reach(text.parse().expect("an address"))
    }

    #[test]
    fn loopback_private_link_local_and_shared_ranges_are_private() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "::127.0.0.1",
        ] {
            assert_eq!(of(ip), Reach::Private, "{ip}");
        }
    }

    #[test]
    fn unspecified_multicast_and_broadcast_are_never_fetched() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "ff02::1",
            "::ffff:0.0.0.0",
        ] {
            assert_eq!(of(ip), Reach::Never, "{ip}");
        }
    }

    #[test]
    fn internet_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(of(ip), Reach::Public, "{ip}");
        }
    }
}
