// Package sarif writes findings as a SARIF 2.1.0 log, the format code-scanning
// interfaces (GitHub, GitLab, Azure DevOps) read to show results on the lines of a
// change. Only the parts those interfaces read are modelled.
package sarif

import (
	"encoding/json"
	"io"
)

// Version and SchemaURI identify the format written.
const (
	Version   = "2.1.0"
	SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

// Log is a SARIF log with one run.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one tool's results.
type Run struct {
	Tool    Tool     `json:"tool"`
	Results []Result `json:"results"`
}

// Tool names the analyser.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is the analyser and the rules its results refer to.
type Driver struct {
	Name           string `json:"name"`
	InformationURI string `json:"informationUri,omitempty"`
	Version        string `json:"version,omitempty"`
	Rules          []Rule `json:"rules"`
}

// Rule is one kind of result.
type Rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     Message        `json:"shortDescription"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration Configuration  `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

// Configuration is a rule's default level.
type Configuration struct {
	Level string `json:"level"`
}

// Message is plain text.
type Message struct {
	Text string `json:"text"`
}

// Result is one finding.
type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             Message           `json:"message"`
	Locations           []Location        `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

// Location is where a result is.
type Location struct {
	PhysicalLocation PhysicalLocation `json:"physicalLocation"`
}

// PhysicalLocation is a file and a line in it.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file, relative to the repository root when it can be.
type ArtifactLocation struct {
	URI string `json:"uri"`
}

// Region is a line, from 1.
type Region struct {
	StartLine int `json:"startLine"`
}

// Level is the SARIF level of a severity: Critical and High are errors, Medium a
// warning, anything else a note.
func Level(severity string) string {
	switch severity {
	case "Critical", "High":
		return "error"
	case "Medium":
		return "warning"
	}
	return "note"
}

// SecuritySeverity is the score code scanning ranks security results by
// (properties.security-severity: above 9 critical, 7 high, 4 medium, else low).
func SecuritySeverity(severity string) string {
	switch severity {
	case "Critical":
		return "9.5"
	case "High":
		return "8.0"
	case "Medium":
		return "5.5"
	}
	return "3.0"
}

// Write writes log as indented JSON.
func Write(w io.Writer, log *Log) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
