// Command csrparse reads CertificateSigningRequest spec.request values the way kube-apiserver
// and the CSR signers do, for the differential test tests/it/csr_differential.rs.
//
// Input: one line per request on stdin, the standard base64 of the raw spec.request bytes.
// Output: one JSON line per input line, in order:
//
//	{"ok":bool,"err":string,"cn":string,"orgs":[],"dns":[],"ips":[],"uris":[],"emails":[],
//	 "sigok":bool,"more":bool}
//
// ok is the reading of k8s.io/kubernetes/pkg/apis/certificates/v1/helpers.go ParseCSR:
// pem.Decode takes the first block Go accepts (skipping malformed ones), a nil block or a type
// other than "CERTIFICATE REQUEST" is an error, then x509.ParseCertificateRequest. The names
// are the fields pkg/controller/certificates/authority/authority.go Sign copies into the
// certificate: Subject (CN, O), DNSNames, IPAddresses (net.IP.String()), URIs (url.URL.String(),
// what crypto/x509 marshalSANs writes) and EmailAddresses. sigok is CheckSignature() == nil
// (pkg/apis/certificates/validation/validation.go checks it when a CSR is created). more says
// whether pem.Decode finds another block in the rest (informational).
package main

import (
	"bufio"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

type result struct {
	OK     bool     `json:"ok"`
	Err    string   `json:"err"`
	CN     string   `json:"cn"`
	Orgs   []string `json:"orgs"`
	DNS    []string `json:"dns"`
	IPs    []string `json:"ips"`
	URIs   []string `json:"uris"`
	Emails []string `json:"emails"`
	SigOK  bool     `json:"sigok"`
	More   bool     `json:"more"`
}

func parse(raw []byte) result {
	r := result{Orgs: []string{}, DNS: []string{}, IPs: []string{}, URIs: []string{}, Emails: []string{}}
	block, rest := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		r.Err = "PEM block type must be CERTIFICATE REQUEST"
		return r
	}
	if next, _ := pem.Decode(rest); next != nil {
		r.More = true
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.OK = true
	r.SigOK = csr.CheckSignature() == nil
	r.CN = csr.Subject.CommonName
	r.Orgs = append(r.Orgs, csr.Subject.Organization...)
	r.DNS = append(r.DNS, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		r.IPs = append(r.IPs, ip.String())
	}
	for _, u := range csr.URIs {
		r.URIs = append(r.URIs, u.String())
	}
	r.Emails = append(r.Emails, csr.EmailAddresses...)
	return r
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		raw, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintf(os.Stderr, "csrparse: an input line is not standard base64: %v\n", err)
			os.Exit(2)
		}
		if err := enc.Encode(parse(raw)); err != nil {
			fmt.Fprintf(os.Stderr, "csrparse: %v\n", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "csrparse: reading stdin: %v\n", err)
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "csrparse: %v\n", err)
		os.Exit(2)
	}
}
