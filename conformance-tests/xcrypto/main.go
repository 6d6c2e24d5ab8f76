// Command xcrypto drives golang.org/x/crypto/acme (the ACME library Kubernetes cert-manager
// uses) against basalt for conformance-tests/xcrypto.sh. Each subcommand is one step of a
// scenario and checks what x/crypto hands back; it exits non-zero, saying why, on any
// unexpected result. Every HTTP exchange with the CA is logged to stderr.
//
// Usage: xcrypto -dir URL -root ROOT.pem -account-key KEY.pem [ports...] SUBCOMMAND [flags] [args]
//
//	register   -contact mailto:... [-eab-kid K -eab-hmac-key B64URL]
//	                                           new account (RSA 2048 key, created if missing), with
//	                                           an External Account Binding (RFC 8555 §7.3.4) if given
//	issue      -challenge T -out PREFIX NAME... order, validate, finalize, write PREFIX.{leaf,chain,key}.pem
//	                                           and the certificate URL to PREFIX.url
//	fetch      -url URL -out PREFIX            download an issued certificate again (POST-as-GET),
//	                                           write PREFIX.{leaf,chain}.pem
//	revoke     -cert F [-cert-key F] -reason N revoke with the account key or the certificate's key
//	rollover   -new-key F                      keyChange to a new ECDSA P-256 key, which replaces KEY.pem
//	deactivate                                 deactivate the account, then check its key is refused
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

var (
	dirURL       = flag.String("dir", "", "ACME directory URL")
	rootFile     = flag.String("root", "", "PEM file of the CA root to trust for the ACME endpoint")
	accountKey   = flag.String("account-key", "", "PEM file of the account key")
	http01Port   = flag.Int("http01-port", 5002, "port of the http-01 responder (127.0.0.1)")
	tlsalpn01Prt = flag.Int("tlsalpn01-port", 5001, "port of the tls-alpn-01 responder (127.0.0.1)")
	dnsControl   = flag.String("dns-control", "127.0.0.1:8055", "host:port of the test DNS control API")
	timeout      = flag.Duration("timeout", 30*time.Second, "bound on the whole subcommand")
)

const (
	probUnauthorized   = "urn:ietf:params:acme:error:unauthorized"
	probAlreadyRevoked = "urn:ietf:params:acme:error:alreadyRevoked"
)

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("xcrypto: ")
	flag.Parse()
	if *dirURL == "" || *rootFile == "" || *accountKey == "" || flag.NArg() == 0 {
		log.Fatal("usage: xcrypto -dir URL -root ROOT.pem -account-key KEY.pem SUBCOMMAND ...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var err error
	switch cmd, args := flag.Arg(0), flag.Args()[1:]; cmd {
	case "register":
		err = cmdRegister(ctx, args)
	case "issue":
		err = cmdIssue(ctx, args)
	case "fetch":
		err = cmdFetch(ctx, args)
	case "finalize":
		err = cmdFinalize(ctx, args)
	case "revoke":
		err = cmdRevoke(ctx, args)
	case "rollover":
		err = cmdRollover(ctx, args)
	case "deactivate":
		err = cmdDeactivate(ctx, args)
	default:
		err = fmt.Errorf("unknown subcommand %q", cmd)
	}
	if err != nil {
		log.Fatalf("FAILED: %v", err)
	}
}

// ---- HTTP: trust basalt's root, and record every exchange ----

type exchange struct {
	method, url string
	status      int
	body        []byte
}

// recorder is the client's transport: it keeps every response (x/crypto swallows some
// answers, such as alreadyRevoked) and logs each exchange to stderr.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.base.RoundTrip(req)
	if err != nil {
		log.Printf("%s %s: %v", req.Method, req.URL, err)
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.log = append(r.log, exchange{req.Method, req.URL.String(), res.StatusCode, body})
	r.mu.Unlock()
	shown := ""
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "json") {
		shown = " " + strings.Join(strings.Fields(string(body)), " ")
		if len(shown) > 600 {
			shown = shown[:600] + "…"
		}
	}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		shown = " [Retry-After: " + ra + "]" + shown
	}
	log.Printf("%s %s -> %d%s", req.Method, req.URL, res.StatusCode, shown)
	return res, nil
}

// latest returns the last exchange of all.
func (r *recorder) latest() (exchange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.log) == 0 {
		return exchange{}, false
	}
	return r.log[len(r.log)-1], true
}

// last returns the last exchange with url.
func (r *recorder) last(url string) (exchange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.log) - 1; i >= 0; i-- {
		if r.log[i].url == url {
			return r.log[i], true
		}
	}
	return exchange{}, false
}

var rec *recorder

func httpClient() *http.Client {
	if rec != nil {
		return &http.Client{Transport: rec}
	}
	pemBytes, err := os.ReadFile(*rootFile)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		log.Fatalf("no certificate in %s", *rootFile)
	}
	rec = &recorder{base: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		TLSHandshakeTimeout: 10 * time.Second,
	}}
	return &http.Client{Transport: rec}
}

func newClient(key crypto.Signer) *acme.Client {
	return &acme.Client{
		Key:          key,
		DirectoryURL: *dirURL,
		HTTPClient:   httpClient(),
		UserAgent:    "basalt-conformance",
	}
}

// ---- keys ----

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return k.(crypto.Signer), nil
}

func newECKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// problem returns err's ACME problem, if it is one.
func problem(err error) (*acme.Error, bool) {
	var e *acme.Error
	return e, errors.As(err, &e)
}

// ---- register ----

func cmdRegister(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("register", flag.ExitOnError)
	contact := fs.String("contact", "mailto:admin@example.org", "account contact")
	eabKID := fs.String("eab-kid", "", "External Account Binding key id (cert-manager's externalAccountBinding.keyID)")
	eabKey := fs.String("eab-hmac-key", "", "External Account Binding HMAC key, base64url (cert-manager's keySecretRef)")
	fs.Parse(args)
	var eab *acme.ExternalAccountBinding
	if *eabKID != "" {
		// cert-manager decodes the Secret's key as base64url (RawURLEncoding) the same way.
		raw, err := base64.RawURLEncoding.DecodeString(*eabKey)
		if err != nil {
			return fmt.Errorf("-eab-hmac-key is not base64url: %v", err)
		}
		eab = &acme.ExternalAccountBinding{KID: *eabKID, Key: raw}
	}

	if _, err := os.Stat(*accountKey); err == nil {
		return fmt.Errorf("%s exists already: register makes a new account", *accountKey)
	}
	// cert-manager's default account key: RSA 2048 (RS256).
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writeKey(*accountKey, key); err != nil {
		return err
	}

	c := newClient(key)
	acct, err := c.Register(ctx, &acme.Account{Contact: []string{*contact}, ExternalAccountBinding: eab}, acme.AcceptTOS)
	if err != nil {
		return fmt.Errorf("Register: %v", err)
	}
	log.Printf("registered %s (status %s, contact %v)", acct.URI, acct.Status, acct.Contact)
	if acct.URI == "" || acct.Status != acme.StatusValid {
		return fmt.Errorf("new account has URI %q and status %q, want a URI and valid", acct.URI, acct.Status)
	}
	if len(acct.Contact) != 1 || acct.Contact[0] != *contact {
		return fmt.Errorf("new account's contact is %v, want [%s]", acct.Contact, *contact)
	}

	// The same key again: 200 + Location, which x/crypto reports as ErrAccountAlreadyExists.
	again := newClient(key)
	if _, err := again.Register(ctx, &acme.Account{Contact: []string{*contact}, ExternalAccountBinding: eab}, acme.AcceptTOS); !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return fmt.Errorf("second Register with the same key returned %v, want ErrAccountAlreadyExists", err)
	}
	if string(again.KID) != acct.URI {
		return fmt.Errorf("second Register gave account URL %q, want %q", again.KID, acct.URI)
	}

	// A fresh client with the same key finds the account (onlyReturnExisting).
	found, err := newClient(key).GetReg(ctx, "")
	if err != nil {
		return fmt.Errorf("GetReg with the account key: %v", err)
	}
	if found.URI != acct.URI || found.Status != acme.StatusValid {
		return fmt.Errorf("GetReg found %q (status %q), want %q (valid)", found.URI, found.Status, acct.URI)
	}

	// An unknown key: accountDoesNotExist, which x/crypto maps to ErrNoAccount.
	if _, err := newClient(newECKey()).GetReg(ctx, ""); !errors.Is(err, acme.ErrNoAccount) {
		return fmt.Errorf("GetReg with an unknown key returned %v, want ErrNoAccount", err)
	}
	fmt.Println(acct.URI)
	return nil
}

// ---- issue ----

// responders serve http-01 and tls-alpn-01 on 127.0.0.1 while an order is validated.
type responders struct {
	mu       sync.Mutex
	http     map[string]string // path -> key authorization
	tls      map[string]*tls.Certificate
	httpSrv  *http.Server
	tlsLis   net.Listener
	txtHosts map[string]bool
}

func (r *responders) serveHTTP01() error {
	if r.httpSrv != nil {
		return nil
	}
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *http01Port))
	if err != nil {
		return fmt.Errorf("http-01 responder: %v", err)
	}
	r.httpSrv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		ka, ok := r.http[req.URL.Path]
		r.mu.Unlock()
		log.Printf("http-01 responder: %s %s (Host %s) -> found=%v", req.Method, req.URL.Path, req.Host, ok)
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, ka)
	})}
	go r.httpSrv.Serve(lis)
	return nil
}

func (r *responders) serveTLSALPN01() error {
	if r.tlsLis != nil {
		return nil
	}
	cfg := &tls.Config{
		NextProtos: []string{acme.ALPNProto},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			r.mu.Lock()
			cert, ok := r.tls[hello.ServerName]
			r.mu.Unlock()
			log.Printf("tls-alpn-01 responder: SNI %q ALPN %v -> found=%v", hello.ServerName, hello.SupportedProtos, ok)
			if !ok {
				return nil, fmt.Errorf("no challenge certificate for %q", hello.ServerName)
			}
			return cert, nil
		},
	}
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *tlsalpn01Prt))
	if err != nil {
		return fmt.Errorf("tls-alpn-01 responder: %v", err)
	}
	r.tlsLis = lis
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				if err := tc.Handshake(); err != nil {
					log.Printf("tls-alpn-01 responder: handshake: %v", err)
					return
				}
				log.Printf("tls-alpn-01 responder: handshake done, ALPN %q", tc.ConnectionState().NegotiatedProtocol)
			}()
		}
	}()
	return nil
}

func (r *responders) addTXT(host, value string) error {
	body, _ := json.Marshal(map[string]string{"host": host, "value": value})
	res, err := http.Post("http://"+*dnsControl+"/add-txt", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("test DNS add-txt: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("test DNS add-txt %s: %s", host, res.Status)
	}
	r.txtHosts[host] = true
	log.Printf("published TXT %s %q", host, value)
	return nil
}

func (r *responders) close() {
	if r.httpSrv != nil {
		r.httpSrv.Close()
	}
	if r.tlsLis != nil {
		r.tlsLis.Close()
	}
	for host := range r.txtHosts {
		body, _ := json.Marshal(map[string]string{"host": host})
		if res, err := http.Post("http://"+*dnsControl+"/clear-txt", "application/json", bytes.NewReader(body)); err == nil {
			res.Body.Close()
		}
	}
}

func cmdIssue(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("issue", flag.ExitOnError)
	challenge := fs.String("challenge", "http-01", "challenge type: http-01, tls-alpn-01 or dns-01")
	out := fs.String("out", "", "prefix of the files written: PREFIX.leaf.pem, .chain.pem, .key.pem, .authz")
	expectReused := fs.Bool("expect-reused", false, "require the order to be ready at once, every authorization already valid")
	stopBeforeFinalize := fs.Bool("stop-before-finalize", false, "leave the order ready, write its URL to PREFIX.order and stop (finish with `finalize`)")
	fs.Parse(args)
	names := fs.Args()
	if *out == "" || len(names) == 0 {
		return errors.New("issue needs -out and at least one name")
	}

	key, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	c := newClient(key)

	var ids []acme.AuthzID
	csr := &x509.CertificateRequest{}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ids = append(ids, acme.IPIDs(n)...)
			csr.IPAddresses = append(csr.IPAddresses, ip)
		} else {
			ids = append(ids, acme.DomainIDs(n)...)
			csr.DNSNames = append(csr.DNSNames, n)
			if csr.Subject.CommonName == "" {
				csr.Subject = pkix.Name{CommonName: n} // as cert-manager does
			}
		}
	}

	order, err := c.AuthorizeOrder(ctx, ids)
	if err != nil {
		return fmt.Errorf("AuthorizeOrder: %v", err)
	}
	log.Printf("order %s: status %s, %d authorizations", order.URI, order.Status, len(order.AuthzURLs))
	if order.URI == "" {
		return errors.New("the new order has no Location")
	}
	if len(order.AuthzURLs) != len(ids) {
		return fmt.Errorf("order has %d authorizations for %d identifiers", len(order.AuthzURLs), len(ids))
	}
	if *expectReused && order.Status != acme.StatusReady {
		return fmt.Errorf("order status is %q, want ready (every authorization reused)", order.Status)
	}
	if err := os.WriteFile(*out+".authz", []byte(strings.Join(order.AuthzURLs, "\n")+"\n"), 0o644); err != nil {
		return err
	}

	r := &responders{http: map[string]string{}, tls: map[string]*tls.Certificate{}, txtHosts: map[string]bool{}}
	defer r.close()
	var accept []*acme.Challenge
	var waitFor []string
	for _, u := range order.AuthzURLs {
		a, err := c.GetAuthorization(ctx, u)
		if err != nil {
			return fmt.Errorf("GetAuthorization %s: %v", u, err)
		}
		log.Printf("authorization %s: %s %s wildcard=%v status %s", u, a.Identifier.Type, a.Identifier.Value, a.Wildcard, a.Status)
		if a.Status == acme.StatusValid {
			continue
		}
		if *expectReused {
			return fmt.Errorf("authorization %s for %s is %s, want valid (reused)", u, a.Identifier.Value, a.Status)
		}
		if a.Status != acme.StatusPending {
			return fmt.Errorf("authorization %s is %s, want pending", u, a.Status)
		}
		var chal *acme.Challenge
		var offered []string
		for _, ch := range a.Challenges {
			offered = append(offered, ch.Type)
			if ch.Type == *challenge {
				chal = ch
			}
		}
		if chal == nil {
			return fmt.Errorf("authorization for %s offers %v, not %s", a.Identifier.Value, offered, *challenge)
		}
		switch *challenge {
		case "http-01":
			ka, err := c.HTTP01ChallengeResponse(chal.Token)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.http[c.HTTP01ChallengePath(chal.Token)] = ka
			r.mu.Unlock()
			if err := r.serveHTTP01(); err != nil {
				return err
			}
		case "tls-alpn-01":
			cert, err := c.TLSALPN01ChallengeCert(chal.Token, a.Identifier.Value)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.tls[a.Identifier.Value] = &cert
			r.mu.Unlock()
			if err := r.serveTLSALPN01(); err != nil {
				return err
			}
		case "dns-01":
			v, err := c.DNS01ChallengeRecord(chal.Token)
			if err != nil {
				return err
			}
			// For a wildcard the identifier is the base name (RFC 8555 7.1.4).
			if err := r.addTXT("_acme-challenge."+a.Identifier.Value, v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown challenge type %s", *challenge)
		}
		accept = append(accept, chal)
		waitFor = append(waitFor, u)
	}

	// Every response is in place before the first challenge is answered.
	for _, ch := range accept {
		got, err := c.Accept(ctx, ch)
		if err != nil {
			return fmt.Errorf("Accept %s: %v", ch.URI, err)
		}
		log.Printf("accepted %s: status %s", ch.URI, got.Status)
	}
	for _, u := range waitFor {
		if _, err := c.WaitAuthorization(ctx, u); err != nil {
			return fmt.Errorf("WaitAuthorization %s: %v", u, err)
		}
	}
	ready, err := c.WaitOrder(ctx, order.URI)
	if err != nil {
		return fmt.Errorf("WaitOrder: %v", err)
	}
	if ready.Status != acme.StatusReady {
		return fmt.Errorf("order is %s before finalize, want ready", ready.Status)
	}
	if *stopBeforeFinalize {
		return os.WriteFile(*out+".order", []byte(order.URI+"\n"), 0o644)
	}
	return finalizeOrder(ctx, c, ready, csr, *out)
}

// finalizeOrder sends a CSR for a fresh P-256 key to a ready order's finalize URL, checks the
// chain it gets, and writes PREFIX.leaf.pem, .chain.pem, .key.pem and .url; prints the serial.
func finalizeOrder(ctx context.Context, c *acme.Client, ready *acme.Order, csr *x509.CertificateRequest, out string) error {
	certKey := newECKey()
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, csr, certKey)
	if err != nil {
		return err
	}
	chain, certURL, err := c.CreateOrderCert(ctx, ready.FinalizeURL, csrDER, true)
	if err != nil {
		return fmt.Errorf("CreateOrderCert: %v", err)
	}
	log.Printf("certificate %s: %d certificates in the chain", certURL, len(chain))
	if len(chain) < 2 {
		return fmt.Errorf("the certificate chain has %d certificates, want the leaf and its issuer", len(chain))
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fmt.Errorf("leaf: %v", err)
	}
	if !publicKeysEqual(leaf.PublicKey, certKey.Public()) {
		return errors.New("the leaf does not certify the CSR's key")
	}
	if err := writeChain(out, chain); err != nil {
		return err
	}
	if err := writeKey(out+".key.pem", certKey); err != nil {
		return err
	}
	if err := os.WriteFile(out+".url", []byte(certURL+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("%x\n", leaf.SerialNumber)
	return nil
}

// ---- finalize ----

// cmdFinalize finalizes an order `issue -stop-before-finalize` left ready (the keys test
// finalizes one while the token is away, then again once it is back). With -expect-status it
// only checks the order's status.
func cmdFinalize(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("finalize", flag.ExitOnError)
	orderURL := fs.String("order", "", "the order URL")
	out := fs.String("out", "", "prefix of the files written, as issue writes them")
	expectStatus := fs.String("expect-status", "", "only check that the order has this status")
	fs.Parse(args)
	if *orderURL == "" || (*out == "" && *expectStatus == "") {
		return errors.New("finalize needs -order and -out (or -expect-status)")
	}
	key, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	c := newClient(key)
	order, err := c.GetOrder(ctx, *orderURL)
	if err != nil {
		return fmt.Errorf("GetOrder: %v", err)
	}
	if *expectStatus != "" {
		if order.Status != *expectStatus {
			return fmt.Errorf("order is %s, want %s", order.Status, *expectStatus)
		}
		return nil
	}
	csr := &x509.CertificateRequest{}
	for _, id := range order.Identifiers {
		if id.Type == "ip" {
			csr.IPAddresses = append(csr.IPAddresses, net.ParseIP(id.Value))
		} else {
			csr.DNSNames = append(csr.DNSNames, id.Value)
		}
	}
	return finalizeOrder(ctx, c, order, csr, *out)
}

// writeChain writes the leaf to PREFIX.leaf.pem and the rest of the chain to PREFIX.chain.pem.
func writeChain(prefix string, chain [][]byte) error {
	var chainPEM []byte
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0]})
	for _, der := range chain[1:] {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(prefix+".leaf.pem", leafPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(prefix+".chain.pem", chainPEM, 0o644)
}

// ---- fetch ----

// cmdFetch downloads a certificate again from its URL (POST-as-GET, RFC 8555 §7.4.2), as a
// client does long after issuance: the areas rotation test checks that a certificate issued
// before a rotation still comes with its own (old) intermediate.
func cmdFetch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	url := fs.String("url", "", "the certificate URL")
	out := fs.String("out", "", "prefix of the files written: PREFIX.leaf.pem, PREFIX.chain.pem")
	fs.Parse(args)
	if *url == "" || *out == "" {
		return errors.New("fetch needs -url and -out")
	}
	key, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	chain, err := newClient(key).FetchCert(ctx, *url, true)
	if err != nil {
		return fmt.Errorf("FetchCert: %v", err)
	}
	if len(chain) < 2 {
		return fmt.Errorf("the certificate chain has %d certificates, want the leaf and its issuer", len(chain))
	}
	return writeChain(*out, chain)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// ---- revoke ----

func cmdRevoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("revoke", flag.ExitOnError)
	certFile := fs.String("cert", "", "PEM file whose first certificate is revoked")
	certKeyFile := fs.String("cert-key", "", "sign with this certificate key (jwk) instead of the account key (kid)")
	reason := fs.Int("reason", 0, "CRL reason code")
	expectAlready := fs.Bool("expect-already-revoked", false, "require the CA to answer alreadyRevoked (x/crypto reports that as success)")
	fs.Parse(args)

	b, err := os.ReadFile(*certFile)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s: no certificate", *certFile)
	}
	key, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	c := newClient(key)
	var signer crypto.Signer // nil: the account key, kid form
	if *certKeyFile != "" {
		if signer, err = readKey(*certKeyFile); err != nil {
			return err
		}
	}
	dir, err := c.Discover(ctx)
	if err != nil {
		return fmt.Errorf("Discover: %v", err)
	}
	if err := c.RevokeCert(ctx, signer, block.Bytes, acme.CRLReasonCode(*reason)); err != nil {
		return fmt.Errorf("RevokeCert: %v", err)
	}
	// x/crypto returns nil both for 200 and for alreadyRevoked: look at what the CA said.
	ex, ok := rec.last(dir.RevokeURL)
	if !ok {
		return errors.New("no revokeCert exchange was recorded")
	}
	var prob struct{ Type string }
	json.Unmarshal(ex.body, &prob)
	if *expectAlready {
		if ex.status != http.StatusBadRequest || prob.Type != probAlreadyRevoked {
			return fmt.Errorf("revokeCert answered %d %q, want 400 %s", ex.status, prob.Type, probAlreadyRevoked)
		}
		log.Printf("the CA answered 400 %s, which x/crypto treats as success", probAlreadyRevoked)
	} else if ex.status != http.StatusOK {
		return fmt.Errorf("revokeCert answered %d, want 200", ex.status)
	}
	return nil
}

// ---- rollover ----

func cmdRollover(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rollover", flag.ExitOnError)
	oldCopy := fs.String("old-key-out", "", "where to keep a copy of the old key")
	fs.Parse(args)

	oldKey, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	c := newClient(oldKey)
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		return fmt.Errorf("GetReg with the old key: %v", err)
	}
	newKey := newECKey()
	if err := c.AccountKeyRollover(ctx, newKey); err != nil {
		return fmt.Errorf("AccountKeyRollover: %v", err)
	}
	if c.Key != newKey {
		return errors.New("AccountKeyRollover succeeded but the client still holds the old key")
	}
	if *oldCopy != "" {
		if err := writeKey(*oldCopy, oldKey); err != nil {
			return err
		}
	}
	if err := writeKey(*accountKey, newKey); err != nil {
		return err
	}

	// The new key finds the account; the old one no longer does.
	found, err := newClient(newKey).GetReg(ctx, "")
	if err != nil {
		return fmt.Errorf("GetReg with the new key: %v", err)
	}
	if found.URI != acct.URI {
		return fmt.Errorf("the new key finds %q, want %q", found.URI, acct.URI)
	}
	if _, err := newClient(oldKey).GetReg(ctx, ""); !errors.Is(err, acme.ErrNoAccount) {
		return fmt.Errorf("GetReg with the old key returned %v, want ErrNoAccount", err)
	}
	// The rolled-over client keeps working with the new key (kid form).
	if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("rolled.test")); err != nil {
		return fmt.Errorf("AuthorizeOrder after the rollover: %v", err)
	}
	log.Printf("account %s now uses the new key", acct.URI)
	return nil
}

// ---- deactivate ----

func cmdDeactivate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("deactivate", flag.ExitOnError)
	pendingOut := fs.String("pending-order-out", "", "write the URL of an order left pending before deactivation")
	fs.Parse(args)

	key, err := readKey(*accountKey)
	if err != nil {
		return err
	}
	c := newClient(key)
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		return fmt.Errorf("GetReg: %v", err)
	}
	pending, err := c.AuthorizeOrder(ctx, acme.DomainIDs("left-pending.test"))
	if err != nil {
		return fmt.Errorf("AuthorizeOrder: %v", err)
	}
	if *pendingOut != "" {
		os.WriteFile(*pendingOut, []byte(pending.URI+"\n"), 0o644)
	}

	if err := c.DeactivateReg(ctx); err != nil {
		return fmt.Errorf("DeactivateReg: %v", err)
	}
	ex, _ := rec.last(acct.URI)
	var body struct{ Status string }
	if err := json.Unmarshal(ex.body, &body); err != nil || body.Status != acme.StatusDeactivated {
		return fmt.Errorf("the deactivation answer's status is %q (%v), want deactivated", body.Status, err)
	}
	log.Printf("account %s deactivated", acct.URI)

	// RFC 8555 7.3.6: every later request signed by the key is 401 unauthorized.
	var failures []string
	want := func(what string, err error) {
		// acme.Error.StatusCode is the problem document's "status": check the HTTP status too.
		ex, _ := rec.latest()
		if p, ok := problem(err); ok && p.ProblemType == probUnauthorized && ex.status == http.StatusUnauthorized {
			log.Printf("%s: refused as expected: %v", what, err)
			return
		}
		failures = append(failures, fmt.Sprintf("%s returned %v (HTTP %d), want 401 %s", what, err, ex.status, probUnauthorized))
	}
	_, err = c.AuthorizeOrder(ctx, acme.DomainIDs("after-deactivation.test"))
	want("AuthorizeOrder (kid)", err)
	_, err = c.GetOrder(ctx, pending.URI)
	want("GetOrder of the account's own order (kid)", err)
	_, err = newClient(key).GetReg(ctx, "")
	want("GetReg (onlyReturnExisting, jwk)", err)
	_, err = newClient(key).Register(ctx, &acme.Account{}, acme.AcceptTOS)
	want("Register (newAccount, jwk)", err)
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}
