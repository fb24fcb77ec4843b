// Package replicatest runs fdxd as a provider deploys it at scale: several
// replicas on one PostgreSQL database behind a load balancer, every step of
// a flow on a different replica, and the database failing under load. Its
// tests start real `fdxd serve` processes (built once per run) on a
// database of their own (pgtest), put a load balancer written in the test
// in front of them, and stop everything when they end. Without a
// PostgreSQL server they skip loudly, unless FDXD_REQUIRE_POSTGRES=1.
package replicatest
