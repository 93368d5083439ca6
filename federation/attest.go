package federation

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// This file holds what makes key lookups and route adverts checkable by
// every node: the answers a node gives for its own users are signed with
// its federation key, answers passed on are checked before they go
// further, and 1-hop route adverts must carry the link statement of the
// domain they claim (crypto/attest has the formats).

// linkValidity is how long this node's link statements last. A neighbour
// re-asks when half is left, about every five minutes per link; a link
// that went down stops backing adverts within this time.
const linkValidity = 10 * time.Minute

// signer returns this node's federation key.
func (m *Manager) signer() (crypto.Signer, error) {
	s, ok := m.cfg.Cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: the federation key cannot sign", attest.ErrMalformed)
	}
	return s, nil
}

// signAnswer signs the keys of addr, one of this node's users, as this
// node's answer to a lookup.
func (m *Manager) signAnswer(addr string, k protocol.PublishedKeys) (protocol.PublishedKeys, error) {
	key, err := m.signer()
	if err != nil {
		return k, err
	}
	proof, err := attest.SignAnswer(attestKeys(addr, k), m.cfg.Now(), m.cfg.Cert.Certificate[0], key)
	if err != nil {
		return k, fmt.Errorf("sign key answer: %w", err)
	}
	k.Answer = proof
	return k, nil
}

// checkAnswer verifies the answer for addr that the neighbour from handed
// over: it must be signed by the node of addr's domain. A forgery is
// logged loudly, since a node of the community is either broken or
// attacking, and comes back as *attest.ForgedError that is also
// protocol.ErrForgedKeys.
func (m *Manager) checkAnswer(addr, from string, k protocol.PublishedKeys) error {
	signer, err := attest.VerifyAnswer(attestKeys(addr, k), k.Answer, m.cfg.Roots, m.cfg.Now())
	if err == nil {
		return nil
	}
	fe := &attest.ForgedError{Address: strings.ToLower(addr), Domain: domainOf(addr), AnsweredBy: from, Signer: signer, Err: err}
	m.obs.Forged(from, "key-answer")
	m.log.Warn("refused a key answer that its domain's node did not sign",
		"user", fe.Address, "domain", fe.Domain, "answered_by", from, "signed_by", signer, "err", err)
	return protocol.Mark(protocol.ErrForgedKeys, fe)
}

// attestKeys converts keys to the form crypto/attest signs.
func attestKeys(addr string, k protocol.PublishedKeys) attest.Keys {
	return attest.Keys{
		Address:     strings.ToLower(addr),
		IdentityKey: k.IdentityKey,
		HPKEKey:     k.HPKEKey,
		Signature:   k.Signature,
		Published:   k.Published,
		AccountKey:  k.AccountKey,
		DeviceList:  k.DeviceList,
	}
}

// CommunityCA implements node.Federation.
func (m *Manager) CommunityCA() [][]byte { return m.cfg.CA }

// linkStatements caches, per neighbour, the neighbour's statement that it
// is linked to this node.
type linkStatements struct {
	mu   sync.Mutex
	byNb map[*link]statement
}

type statement struct {
	b       []byte
	refresh time.Time // ask again after this
}

// statementFrom returns the neighbour's link statement naming this node,
// asking the neighbour when none is cached or the cached one is half
// spent. A statement that does not check out is not used: the advert then
// goes without it and the receiver drops that entry.
func (m *Manager) statementFrom(ctx context.Context, domain string) []byte {
	l := m.link(domain)
	if l == nil {
		return nil
	}
	now := m.cfg.Now()
	m.stmts.mu.Lock()
	st, ok := m.stmts.byNb[l]
	m.stmts.mu.Unlock()
	if ok && now.Before(st.refresh) {
		return st.b
	}
	b, err := l.linkStatement(ctx)
	if err == nil {
		err = attest.VerifyLink(b, domain, m.cfg.Domain, m.cfg.Roots, now)
	}
	if err != nil {
		// A neighbour of an older version has no statements to give; say
		// so now and then, not on every advert.
		m.warnOnce("statement "+domain, "no link statement from neighbour; its domain is advertised without one, and other nodes drop that entry",
			"peer", domain, "err", err)
		return nil
	}
	lk, _ := attest.ParseLink(b)
	m.stmts.mu.Lock()
	if m.stmts.byNb == nil {
		m.stmts.byNb = map[*link]statement{}
	}
	m.stmts.byNb[l] = statement{b: b, refresh: now.Add(lk.Expires.Sub(now) / 2)}
	m.stmts.mu.Unlock()
	return b
}

// forgetStatement drops the cached statement of a link that ended.
func (m *Manager) forgetStatement(l *link) {
	m.stmts.mu.Lock()
	delete(m.stmts.byNb, l)
	m.stmts.mu.Unlock()
}

// checkAdverts drops the 1-hop entries of a neighbour's advert list that
// do not carry a valid link statement of the domain they claim, naming
// the neighbour. Other entries cannot be checked and pass (a node can
// still claim longer paths than it has).
func (m *Manager) checkAdverts(from string, adverts []route.Advert, links [][]byte) []route.Advert {
	now := m.cfg.Now()
	out := adverts[:0]
	for i, a := range adverts {
		if a.Hops == 1 && a.Domain != m.cfg.Domain {
			if err := attest.VerifyLink(links[i], a.Domain, from, m.cfg.Roots, now); err != nil {
				m.obs.Forged(from, "route-advert")
				m.warnOnce(from+" "+a.Domain, "dropped a route advert: neighbour claims a direct link the domain did not sign",
					"peer", from, "domain", a.Domain, "err", err)
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// warnOnce logs at most every ten minutes for the same key.
func (m *Manager) warnOnce(key, msg string, args ...any) {
	now := m.cfg.Now()
	m.mu.Lock()
	last, seen := m.logged[key]
	if !seen || now.Sub(last) > 10*time.Minute {
		m.logged[key] = now
		seen = false
	}
	m.mu.Unlock()
	if !seen {
		m.log.Warn(msg, args...)
	}
}

func (l *link) linkStatement(ctx context.Context) ([]byte, error) {
	fut, release := l.peer.LinkStatement(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, l.callErr(err)
	}
	b, err := res.Statement()
	if err != nil {
		return nil, l.callErr(err)
	}
	return append([]byte(nil), b...), nil
}

// LinkStatement implements FederationService.linkStatement: this node's
// statement that it is linked to the caller.
func (s *server) LinkStatement(ctx context.Context, call schemas.FederationService_linkStatement) error {
	return s.do(ctx, "linkStatement", func(context.Context) error {
		key, err := s.m.signer()
		if err != nil {
			return err
		}
		b, err := attest.SignLink(s.domain, s.m.cfg.Now(), linkValidity, s.m.cfg.Cert.Certificate[0], key)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return res.SetStatement(b)
	})
}
