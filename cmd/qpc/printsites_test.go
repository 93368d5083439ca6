package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// remoteFields are fields that hold text from elsewhere (a sender, a
// node, a channel author): printed only through termtext.Safe.
var remoteFields = map[string]bool{
	"Body": true, "From": true, "Text": true, "Problem": true, "Reason": true, "Domain": true, "NodeID": true,
	"Message": true, "LastError": true, "Author": true, "Version": true, "Commit": true, "Platform": true,
	"DeviceName": true, "MDNSInstance": true,
}

// TestNoPrintSiteWritesRemoteTextOrAnErrorChainUnsafely is an analyzer in
// little: it reads every fmt print call of cmd/qpc and its REPL and fails
// on an argument that is an error (it must go through printErr or
// sayError, which say it in the user's words and make it safe) or a field
// that holds text from elsewhere, not wrapped in a call (termtext.Safe,
// termtext.Line, sayError, ...).
func TestNoPrintSiteWritesRemoteTextOrAnErrorChainUnsafely(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	more, _ := filepath.Glob("internal/repl/*.go")
	files = append(files, more...)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "bench.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isIdent(sel.X, "fmt") || !strings.HasPrefix(sel.Sel.Name, "Print") && !strings.HasPrefix(sel.Sel.Name, "Fprint") {
				return true
			}
			checked++
			for _, arg := range call.Args {
				switch a := arg.(type) {
				case *ast.Ident:
					if a.Name == "err" {
						t.Errorf("%s: an error printed as it is: use printErr or sayError", fset.Position(a.Pos()))
					}
				case *ast.SelectorExpr:
					if remoteFields[a.Sel.Name] {
						t.Errorf("%s: .%s printed without termtext.Safe", fset.Position(a.Pos()), a.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 100 {
		t.Errorf("checked %d print calls; cmd/qpc has hundreds: the walk is broken", checked)
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
