package route

import (
	"errors"
	"reflect"
	"testing"
)

// decodeAdverts turns fuzz input into a neighbour and an advert list: the
// first byte picks the sender (b.mesh, c.mesh or the unlinked x.mesh),
// then each entry is a hop count, a length and that many bytes of domain.
func decodeAdverts(data []byte) (string, []Advert) {
	if len(data) == 0 {
		return "b.mesh", nil
	}
	from := []string{"b.mesh", "c.mesh", "x.mesh"}[int(data[0])%3]
	var out []Advert
	for rest := data[1:]; len(rest) >= 2; {
		hops, n := rest[0], int(rest[1])
		rest = rest[2:]
		n = min(n, len(rest))
		out = append(out, Advert{Domain: string(rest[:n]), Hops: hops})
		rest = rest[n:]
	}
	return from, out
}

func encodeAdverts(from byte, adverts ...Advert) []byte {
	out := []byte{from}
	for _, a := range adverts {
		out = append(out, a.Hops, byte(len(a.Domain)))
		out = append(out, a.Domain...)
	}
	return out
}

// FuzzLearn feeds arbitrary advert lists to a table that already holds
// routes, and checks that Learn never panics, that a refused list changes
// nothing, that Changed agrees with Learn, and that the table stays sane.
func FuzzLearn(f *testing.F) {
	f.Add(encodeAdverts(0, Advert{"b.mesh", 0}, Advert{"d.mesh", 1}, Advert{"e.mesh", 14}))
	f.Add(encodeAdverts(1, Advert{"c.mesh", 0}, Advert{"d.mesh", 0}))
	f.Add(encodeAdverts(0, Advert{"b.mesh", 0}, Advert{"a.mesh", 3}, Advert{"B.mesh", 1}))
	f.Add(encodeAdverts(2, Advert{"x.mesh", 0}))
	f.Add(encodeAdverts(0, Advert{"b.mesh", 0}, Advert{"f.mesh", 1}, Advert{"g.mesh", 1}, Advert{"h.mesh", 2},
		Advert{"i.mesh", 2}, Advert{"j.mesh", 3}, Advert{"k.mesh", 15}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb := linked(Options{MaxRoutes: 8}, "b.mesh", "c.mesh")
		mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"d.mesh", 1}, {"e.mesh", 3}}, epoch)
		mustLearn(t, tb, "c.mesh", []Advert{{"c.mesh", 0}, {"d.mesh", 2}, {"y.mesh", 1}}, epoch)
		before := tb.Routes(epoch)
		ch := tb.Changed()

		from, adverts := decodeAdverts(data)
		changed, err := tb.Learn(from, adverts, epoch)
		if changed != fired(ch) {
			t.Errorf("Learn returned changed=%v, Changed fired=%v", changed, fired(ch))
		}
		if err != nil && !errors.Is(err, ErrTableFull) {
			if changed {
				t.Errorf("Learn refused the list (%v) but reports a change", err)
			}
			if after := tb.Routes(epoch); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused list (%v) changed the table: %s, was %s", err, summary(after), summary(before))
			}
		}
		if err := sane(tb, epoch); err != nil {
			t.Error(err)
		}
	})
}
