// Package audit takes in the API server's audit stream, from its webhook backend
// (Receiver) or its log file (Follower), and keeps only what the operator needs:
// who wrote RBAC objects (Index, for attribution of drift) and which permissions were
// used through which binding (Aggregator, persisted by Store, for UnusedPermission
// findings). Everything is bounded: request bodies, concurrent requests, the
// attribution index, and the usage records per day and days kept.
package audit
