// Command image-tar writes the operator's container image as an image archive without
// a Docker daemon: a static base (passwd and group naming the nonroot user, /tmp)
// and the manager binary, run as 65532:65532. `docker load -i` and
// `kind load image-archive` read the archive; `make image-tar` builds it.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user, as in distroless' nonroot variant.
const (
	uid        = 65532
	entrypoint = "/rbac-guardrails"
)

// epoch is every file's time: the same binary gives the same image.
var epoch = time.Unix(0, 0).UTC()

func main() {
	binary := flag.String("binary", "", "the manager, built static for linux (CGO_ENABLED=0)")
	out := flag.String("o", "bin/rbac-guardrails-image.tar", "archive to write")
	tag := flag.String("tag", "controller:latest", "image reference the archive carries")
	arch := flag.String("arch", "amd64", "the binary's architecture")
	flag.Parse()
	if err := run(*binary, *out, *tag, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "image-tar:", err)
		os.Exit(2)
	}
}

func run(binary, out, tag, arch string) error {
	if binary == "" {
		return fmt.Errorf("-binary is required: the manager built with CGO_ENABLED=0 GOOS=linux")
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("-binary: %w", err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("-tag %q: %w; give name:tag, e.g. rbac-guardrails:dev", tag, err)
	}
	img, err := build(bin, arch)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}

// build is the image: a base layer, the binary's layer, and the config.
func build(bin []byte, arch string) (v1.Image, error) {
	base, err := layer([]file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid))},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, dir: true, owner: uid},
		{name: "tmp/", mode: 0o1777, dir: true},
	})
	if err != nil {
		return nil, err
	}
	app, err := layer([]file{{name: entrypoint[1:], mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.DockerManifestSchema2), base, app)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{entrypoint}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/", "HOME=/home/nonroot", "TMPDIR=/tmp"}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "rbac-guardrails",
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	return mutate.ConfigFile(img, cf)
}

type file struct {
	name  string
	mode  int64
	data  []byte
	dir   bool
	owner int
}

// layer is an uncompressed tar of files, with fixed times.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Uid: f.owner, Gid: f.owner, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}
