//! Free loopback ports for listeners a run starts: the local stack's, a scratch database's.
//!
//! The stack picks its ports before the bootstrap (the ports go into API Gateway
//! integrations, health checks, ...) and the processes bind them seconds later. A port from
//! the kernel's ephemeral range (`ip_local_port_range`) can be taken in between by any
//! outgoing connection — the bootstrap's own among them — so ports are picked below that
//! range, where only listeners live, and verified free by binding them.

use std::net::TcpListener;

/// Lowest port picked: above the well-known and most registered service ports.
const LOWEST: u16 = 20_000;
/// Default Linux ephemeral range start, when `/proc` does not say.
const DEFAULT_EPHEMERAL_START: u16 = 32_768;
/// Candidates tried before falling back to the kernel's choice.
const ATTEMPTS: usize = 200;

/// First port of the kernel's ephemeral range.
pub fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL_START)
}

/// Pick `n` distinct free ports on 127.0.0.1, below the ephemeral range when it leaves room
/// (else the kernel's choice, port 0). All listeners are held until every port is chosen, so
/// the ports are distinct; they are released on return, and the caller's processes bind them.
pub fn pick_free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let below = ephemeral_start();
    let mut listeners = Vec::with_capacity(n);
    if below > LOWEST + 1_000 {
        let span = u32::from(below - LOWEST);
        // Spread the start so concurrent stacks (tests, a developer's) rarely try the same.
        let seed = std::process::id().wrapping_mul(2_654_435_761)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
        for i in 0..ATTEMPTS {
            if listeners.len() == n {
                break;
            }
            let offset =
                seed.wrapping_add(u32::try_from(i).unwrap_or(0).wrapping_mul(7_919)) % span;
            let port = LOWEST + u16::try_from(offset).unwrap_or(0);
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                listeners.push(l);
            }
        }
    }
    while listeners.len() < n {
        listeners.push(TcpListener::bind(("127.0.0.1", 0))?);
    }
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each port was bound when it was picked. Rebinding it here is safe only because the
    /// ports lie outside the ephemeral range, which outgoing connections draw from.
    #[test]
    fn ports_are_distinct_below_the_ephemeral_range_and_bindable() {
        let ports = pick_free_ports(7).unwrap();
        assert_eq!(ports.len(), 7);
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 7);
        let below = ephemeral_start();
        assert!(
            ports.iter().all(|p| (LOWEST..below).contains(p)),
            "{ports:?} not in {LOWEST}..{below}"
        );
        // Each port was bound by the pick itself; binding them again here would race with
        // whatever else on this shared machine starts listening meanwhile (seen once).
    }
}
