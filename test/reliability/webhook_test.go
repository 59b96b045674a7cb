package reliability

import (
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// The admission webhook unreachable: the RBAC webhook fails open, the write lands and
// the controller reverts it; with the webhook back, the same write is denied again.
func TestWebhookUnreachable(t *testing.T) {
	front, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	back, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cl := newCluster(t, func(env *envtest.Environment) {
		// The API server calls the webhooks through a proxy the test can cut.
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(repoRoot, "config", "webhook")},
			LocalServingHost: "127.0.0.1", LocalServingPort: front}
	})
	proxy := newProxy(t, "127.0.0.1:"+strconv.Itoa(front), "127.0.0.1:"+strconv.Itoa(back))
	nss := cl.teams("webhook", 1)
	cl.operator("manager", "--webhook-port="+strconv.Itoa(back))
	cl.baseline("webhook")
	tr := cl.track()

	// A cluster admin by binding, not in the exempt system:masters group.
	if err := cl.c.Create(cl.ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "carol-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "carol"}}}); err != nil {
		t.Fatal(err)
	}
	user, err := cl.cp.Env.AddUser(envtest.User{Name: "carol"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := client.New(user.Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	denied := func() error { return cl.tamperRole(carol, nss[0]) }

	cl.eventually(time.Minute, "the webhook denies the tamper", func() bool {
		err := denied()
		return err != nil && strings.Contains(err.Error(), "denied")
	})
	proxy.down()
	since := time.Now()
	if err := denied(); err != nil {
		t.Fatalf("with the webhook unreachable the write must pass (failurePolicy Ignore): %v", err)
	}
	passedIn := time.Since(since)
	got := cl.waitRestored(tr, []string{roleKey(nss[0])}, since, time.Minute)
	proxy.up()
	back2 := time.Now()
	cl.eventually(time.Minute, "the webhook denies the tamper again", func() bool {
		err := denied()
		return err != nil && strings.Contains(err.Error(), "denied")
	})
	figures(t, "Admission webhook unreachable, then back", [][2]string{
		{"write accepted while unreachable (fail-open) in", ms(passedIn)},
		{"that drift reverted by the controller in", ms(got[0].latency())},
		{"denials again after the webhook came back", ms(time.Since(back2))},
	})
}

// proxy forwards TCP connections from front to back until down, and again after up.
type proxy struct {
	t           *testing.T
	front, back string
	mu          sync.Mutex
	l           net.Listener
	conns       map[net.Conn]bool
}

func newProxy(t *testing.T, front, back string) *proxy {
	p := &proxy{t: t, front: front, back: back, conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	// While the proxy was down, a client of another test may have been given its
	// port as an ephemeral one: wait for it to be free again.
	l, err := net.Listen("tcp", p.front)
	for deadline := time.Now().Add(30 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		l, err = net.Listen("tcp", p.front)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *proxy) serve(c net.Conn) {
	b, err := net.Dial("tcp", p.back)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
	_, _ = io.Copy(c, b)
	_ = c.Close()
}

// down refuses new connections and cuts the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		_ = p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}
