// Package deploy_test checks what deploy/ and the release configuration
// ship, field by field, since no cluster or docker daemon is at hand: the
// Kubernetes CronJob is an Indexed Job whose pod runs the image goreleaser
// builds on the spec its ConfigMap mounts, with every variable that spec
// needs; the spec itself validates; the Dockerfile and .goreleaser.yaml
// agree with the manifest.
package deploy_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	_ "github.com/hoist-dev/hoist/extract" // connection types, for the spec
	_ "github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

type cronJob struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Schedule          string `yaml:"schedule"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				CompletionMode string `yaml:"completionMode"`
				Completions    *int   `yaml:"completions"`
				Parallelism    *int   `yaml:"parallelism"`
				Template       struct {
					Spec struct {
						RestartPolicy   string `yaml:"restartPolicy"`
						SecurityContext struct {
							RunAsUser int `yaml:"runAsUser"`
						} `yaml:"securityContext"`
						Containers []struct {
							Image string   `yaml:"image"`
							Args  []string `yaml:"args"`
							Env   []struct {
								Name      string `yaml:"name"`
								ValueFrom struct {
									SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
									FieldRef     *struct {
										FieldPath string `yaml:"fieldPath"`
									} `yaml:"fieldRef"`
								} `yaml:"valueFrom"`
							} `yaml:"env"`
							SecurityContext struct {
								ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
							} `yaml:"securityContext"`
							VolumeMounts []struct {
								Name      string `yaml:"name"`
								MountPath string `yaml:"mountPath"`
							} `yaml:"volumeMounts"`
						} `yaml:"containers"`
						Volumes []struct {
							Name      string `yaml:"name"`
							ConfigMap *struct {
								Name string `yaml:"name"`
							} `yaml:"configMap"`
							EmptyDir any `yaml:"emptyDir"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type kustomization struct {
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
	Images []struct {
		Name string `yaml:"name"`
	} `yaml:"images"`
}

type goreleaser struct {
	Builds []struct {
		Env   []string `yaml:"env"`
		Tags  []string `yaml:"tags"`
		Goos  []string `yaml:"goos"`
		Goarc []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	SBOMs []struct {
		Cmd       string   `yaml:"cmd"`
		Args      []string `yaml:"args"`
		Artifacts string   `yaml:"artifacts"`
	} `yaml:"sboms"`
	Brews         []any `yaml:"brews"`
	HomebrewCasks []struct {
		Name       string `yaml:"name"`
		Binaries   []string
		Repository struct{ Owner, Name string } `yaml:"repository"`
	} `yaml:"homebrew_casks"`
	DockersV2 []struct {
		Dockerfile string   `yaml:"dockerfile"`
		Images     []string `yaml:"images"`
		Platforms  []string `yaml:"platforms"`
	} `yaml:"dockers_v2"`
}

func decode(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestKubernetesManifests: the CronJob runs an Indexed Job (the index is
// what --shard reads), restarts nothing in place, mounts the spec from the
// ConfigMap that kustomize generates and runs `hoist run` on it, with the
// image goreleaser publishes, as the image's user, on a read-only root with
// a writable /tmp, and every variable the spec reads from the Secret.
func TestKubernetesManifests(t *testing.T) {
	var cj cronJob
	decode(t, "kubernetes/cronjob.yaml", &cj)
	var kz kustomization
	decode(t, "kubernetes/kustomization.yaml", &kz)
	var gr goreleaser
	decode(t, "../.goreleaser.yaml", &gr)

	job := cj.Spec.JobTemplate.Spec
	pod := job.Template.Spec
	if cj.Kind != "CronJob" || cj.Spec.Schedule == "" || cj.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("kind %q, schedule %q, concurrencyPolicy %q", cj.Kind, cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	if job.CompletionMode != "Indexed" || job.Completions == nil || job.Parallelism == nil || *job.Parallelism > *job.Completions {
		t.Errorf("completionMode %q, completions %v, parallelism %v: want an Indexed Job", job.CompletionMode, job.Completions, job.Parallelism)
	}
	// one pod per shard: --shards=N with N the job's completions and parallelism
	if c := pod.Containers; len(c) == 1 && job.Completions != nil && job.Parallelism != nil {
		want := fmt.Sprintf("--shards=%d", *job.Completions)
		if !slices.Contains(c[0].Args, want) || *job.Parallelism != *job.Completions {
			t.Errorf("args %v, completions %d, parallelism %d: want %s and one pod per shard", c[0].Args, *job.Completions, *job.Parallelism, want)
		}
	}
	if pod.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q, want Never (backoffLimitPerIndex needs it)", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(gr.DockersV2) != 1 || len(gr.DockersV2[0].Images) == 0 {
		t.Fatalf("dockers_v2: %+v", gr.DockersV2)
	}
	image, _, _ := strings.Cut(c.Image, ":")
	if image != gr.DockersV2[0].Images[0] || len(kz.Images) != 1 || kz.Images[0].Name != image {
		t.Errorf("image %q: want goreleaser's %q, also named in the kustomization's images", c.Image, gr.DockersV2[0].Images[0])
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	var specMap string
	tmpIsEmptyDir := false
	for _, v := range pod.Volumes {
		if v.Name == "spec" && v.ConfigMap != nil {
			specMap = v.ConfigMap.Name
		}
		if v.Name == "tmp" && v.EmptyDir != nil {
			tmpIsEmptyDir = true
		}
	}
	if len(kz.ConfigMapGenerator) != 1 || kz.ConfigMapGenerator[0].Name != specMap || len(kz.ConfigMapGenerator[0].Files) != 1 {
		t.Fatalf("the spec volume mounts ConfigMap %q; the kustomization generates %+v", specMap, kz.ConfigMapGenerator)
	}
	specFile := kz.ConfigMapGenerator[0].Files[0]
	if len(c.Args) < 2 || c.Args[0] != "run" || c.Args[1] != mounts["spec"]+"/"+specFile {
		t.Errorf("args %v: want run %s/%s", c.Args, mounts["spec"], specFile)
	}
	if mounts["tmp"] != "/tmp" || !tmpIsEmptyDir || !c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("want a read-only root with an emptyDir at /tmp: mounts %v", mounts)
	}
	for _, r := range kz.Resources {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization resource %s: %v", r, err)
		}
	}

	env := map[string]bool{}
	for _, e := range c.Env {
		switch {
		case e.Name == "JOB_COMPLETION_INDEX":
			if e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("JOB_COMPLETION_INDEX does not come from the job's completion index")
			}
		case e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "hoist":
			t.Errorf("env %s does not come from the hoist Secret", e.Name)
		}
		env[e.Name] = true
	}
	if !env["JOB_COMPLETION_INDEX"] {
		t.Error("no JOB_COMPLETION_INDEX in the container's environment")
	}
	// The spec validates, and every variable it reads is in the pod's
	// environment; its state is the shared PostgreSQL store.
	text, err := os.ReadFile(filepath.Join("kubernetes", specFile))
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	f, err := spec.Parse(specFile, text, func(name string) (string, bool) {
		read = append(read, name)
		switch name {
		case "HOIST_STATE_URL":
			return "postgres://hoist@db.internal:5432/hoist", true
		case "WAREHOUSE_URL":
			return "postgres://reader@warehouse.internal:5432/analytics", true
		}
		return "x", true
	})
	if err != nil {
		t.Fatalf("the example spec does not validate: %v", err)
	}
	if !strings.HasPrefix(f.State, "postgres://") {
		t.Errorf("state %q, want the shared postgres store", f.State)
	}
	for _, name := range read {
		if !env[name] {
			t.Errorf("the spec reads ${%s}, which the CronJob does not set", name)
		}
	}
	if len(read) == 0 {
		t.Error("the spec reads no variable: its secrets would be in the ConfigMap")
	}
}

// TestImageAndRelease: the Dockerfile puts the static binary on
// distroless/static as the user the CronJob runs as, goreleaser builds it
// static for every platform the image has, with checksums, an SBOM, the
// LICENSE in every archive, and Homebrew by cask (brews is deprecated).
func TestImageAndRelease(t *testing.T) {
	var gr goreleaser
	decode(t, "../.goreleaser.yaml", &gr)
	var cj cronJob
	decode(t, "kubernetes/cronjob.yaml", &cj)

	fh, err := os.Open("../" + gr.DockersV2[0].Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	ins := map[string][]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, arg, _ := strings.Cut(line, " ")
		ins[op] = append(ins[op], arg)
	}
	if from := ins["FROM"]; len(from) != 1 || !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?:nonroot|scratch)$`).MatchString(from[0]) {
		t.Errorf("FROM %v: want one stage, distroless/static:nonroot or scratch", from)
	}
	if !slices.Contains(ins["COPY"], "${TARGETPLATFORM}/hoist /hoist") || !slices.Contains(ins["ARG"], "TARGETPLATFORM") {
		t.Errorf("COPY %v: want the platform's binary from the goreleaser context", ins["COPY"])
	}
	if got := ins["ENTRYPOINT"]; len(got) != 1 || got[0] != `["/hoist"]` {
		t.Errorf("ENTRYPOINT %v", got)
	}
	if user := cj.Spec.JobTemplate.Spec.Template.Spec.SecurityContext.RunAsUser; len(ins["USER"]) != 1 || !strings.HasPrefix(ins["USER"][0], "65532") || user != 65532 {
		t.Errorf("USER %v and runAsUser %d: want the distroless nonroot user 65532 in both", ins["USER"], user)
	}

	if len(gr.Builds) != 1 || !slices.Contains(gr.Builds[0].Env, "CGO_ENABLED=0") || !slices.Contains(gr.Builds[0].Tags, "minicore_disabled") {
		t.Errorf("builds: %+v, want one static build with -tags minicore_disabled", gr.Builds)
	}
	for _, p := range gr.DockersV2[0].Platforms {
		os, arch, _ := strings.Cut(p, "/")
		if !slices.Contains(gr.Builds[0].Goos, os) || !slices.Contains(gr.Builds[0].Goarc, arch) {
			t.Errorf("image platform %s is not built", p)
		}
	}
	if gr.Checksum.NameTemplate == "" || len(gr.SBOMs) != 1 || gr.SBOMs[0].Artifacts != "binary" || gr.SBOMs[0].Cmd != "go" {
		t.Errorf("checksum %+v, sboms %+v", gr.Checksum, gr.SBOMs)
	}
	if len(gr.Archives) != 1 || !slices.Contains(gr.Archives[0].Files, "LICENSE") {
		t.Errorf("archives do not ship the LICENSE: %+v", gr.Archives)
	}
	if len(gr.Brews) != 0 || len(gr.HomebrewCasks) != 1 || gr.HomebrewCasks[0].Repository.Name != "homebrew-tap" {
		t.Errorf("brews %v, homebrew_casks %+v: want one cask in homebrew-tap and no brews", gr.Brews, gr.HomebrewCasks)
	}
	lic, err := os.ReadFile("../LICENSE")
	if err != nil || !strings.Contains(string(lic), "Apache License") || !strings.Contains(string(lic), "Version 2.0, January 2004") ||
		!strings.Contains(string(lic), "END OF TERMS AND CONDITIONS") {
		t.Errorf("LICENSE is not the full Apache-2.0 text (%v)", err)
	}
}
