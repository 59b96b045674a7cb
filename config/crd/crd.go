// Package crd embeds the generated CustomResourceDefinitions, so that tools validate
// a resource offline against exactly what the API server is given.
package crd

import _ "embed"

// RoleBaselines is the RoleBaseline CRD as `make manifests` writes it.
//
//go:embed bases/guardrails.rbac-guardrails.io_rolebaselines.yaml
var RoleBaselines []byte

// AccessGrants is the AccessGrant CRD as `make manifests` writes it.
//
//go:embed bases/guardrails.rbac-guardrails.io_accessgrants.yaml
var AccessGrants []byte
