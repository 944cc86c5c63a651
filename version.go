package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is drnav's release when the build does not stamp one.
const version = "0.1.0"

// Stamped at link time, for example
//
//	go build -ldflags "-X main.stampVersion=0.2.0 -X main.stampCommit=$(git rev-parse HEAD) -X main.stampDate=$(date -u +%FT%TZ)"
//
// These are the only package-level variables of the command layer: the
// linker writes them, nothing at run time does. Empty ones are filled from
// the module's build info (vcs.revision, vcs.time, vcs.modified).
var (
	stampVersion string
	stampCommit  string
	stampDate    string
)

// buildInfo is what 'drnav version' and 'drnav --version' print.
type buildInfo struct {
	Version   string
	Commit    string // "" when unknown
	Modified  bool   // built from a tree with uncommitted changes
	Date      string // "" when unknown
	GoVersion string
	Platform  string
}

// readBuildInfo combines the link-time stamps with the module's build info.
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return newBuildInfo(stampVersion, stampCommit, stampDate, bi)
}

// newBuildInfo fills what the stamps leave empty from bi (nil: none).
func newBuildInfo(stampVersion, stampCommit, stampDate string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: stampVersion, Commit: stampCommit, Date: stampDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	// a tagged module version: v1.2.3, v1.2.3-rc.1
	releaseVersion := regexp.MustCompile(`^v\d+\.\d+\.\d+(-rc\.?\d+)?$`)
	if bi != nil {
		if b.Version == "" && releaseVersion.MatchString(bi.Main.Version) {
			// go install github.com/drnav/drnav@v1.2.3 stamps the module
			// version (a pseudo-version of an untagged commit is not one).
			b.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = b.Modified || (s.Value == "true" && stampCommit == "")
			}
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = version
	}
	return b
}

// String is the version text: the first line is "drnav VERSION".
func (b buildInfo) String() string {
	commit, date := b.Commit, b.Date
	if commit == "" {
		commit = "unknown"
	} else if b.Modified {
		commit += " (modified)"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("drnav %s\n  commit: %s\n  built:  %s\n  go:     %s %s\n", b.Version, commit, date, b.GoVersion, b.Platform)
}
