package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
)

// declareForm is the declare screen: the detection time, then one field
// per runbook variable, with the live choices an environment offers. It
// owns its text inputs and focus; the root model declares the incident
// when the form is submitted.
type declareForm struct {
	fields []declareField
	cur    int
}

type declareField struct {
	label     string
	variable  *runbooks.Variable
	input     textinput.Model
	choices   []string
	facts     []string // facts[i] about choices[i] (may be shorter)
	choiceErr error
	choice    int
	err       string
	fresh     bool // the detection field still holds its initial "now": typing replaces it
}

// declareOutcome is what a key did to the form, for the root model.
type declareOutcome int

const (
	declareEditing declareOutcome = iota // the form keeps the screen
	declareBack                          // esc: back to the picker
	declareSubmit                        // enter on the last field, every field valid
)

func (o declareOutcome) String() string {
	switch o {
	case declareEditing:
		return "editing"
	case declareBack:
		return "back"
	case declareSubmit:
		return "submit"
	}
	return "unknown outcome"
}

// newDeclareForm builds the form of rb: defaults from cfgVals, and a
// lookup of live choices (in a Cmd, tagged with origin) for every variable
// whose source env can list.
func newDeclareForm(s *Styles, rb *runbooks.Runbook, cfgVals map[string]string, env *Environment, origin, width int) (declareForm, tea.Cmd) {
	var fields []declareField
	det := s.NewTextInput()
	det.Prompt = "> "
	det.SetValue("now") // the value, not an example: the formats are listed beneath
	fields = append(fields, declareField{label: "Detected", input: det, fresh: true})
	var cmds []tea.Cmd
	for i := range rb.Variables {
		v := &rb.Variables[i]
		in := s.NewTextInput()
		in.Prompt = "> "
		def := v.Default
		if v.Config != "" && cfgVals[v.Config] != "" {
			def = cfgVals[v.Config]
		}
		in.SetValue(def)
		if v.Secret {
			in.EchoMode = textinput.EchoPassword
			in.EchoCharacter = '*'
		}
		fields = append(fields, declareField{label: v.Name, variable: v, input: in})
		if v.Source != runbooks.SourceText && v.Source != runbooks.SourceConfig && env != nil && (env.Choices != nil || env.ChoiceFacts != nil) {
			cmds = append(cmds, choicesCmd(len(fields)-1, v.Source, env, origin))
		}
	}
	for i := range fields {
		fields[i].input.SetWidth(max(20, width-30))
	}
	d := declareForm{fields: fields}
	cmds = append(cmds, d.fields[0].input.Focus())
	return d, tea.Batch(cmds...)
}

// choicesCmd lists the live choices of field idx (its variable's source).
func choicesCmd(idx int, src string, env *Environment, origin int) tea.Cmd {
	choices, facts := env.Choices, env.ChoiceFacts
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var msg choicesMsg
		var err error
		if facts != nil {
			var cs []live.Choice
			cs, err = facts(ctx, src)
			for _, c := range cs {
				msg.choices, msg.facts = append(msg.choices, c.Value), append(msg.facts, c.Facts)
			}
		} else {
			msg.choices, err = choices(ctx, src)
		}
		if err != nil {
			err = fmt.Errorf("list %s: %w", src, err)
		}
		msg.origin, msg.field, msg.err = origin, idx, err
		return msg
	}
}

// setChoices takes a field's live choices (the root checked the origin).
func (d *declareForm) setChoices(msg choicesMsg) {
	if msg.field < len(d.fields) {
		f := &d.fields[msg.field]
		f.choices, f.facts, f.choiceErr = msg.choices, msg.facts, msg.err
	}
}

// Update handles a key; now is the clock detection times are read against.
func (d declareForm) Update(msg tea.KeyPressMsg, k DeclareKeys, now time.Time) (declareForm, tea.Cmd, declareOutcome) {
	f := &d.fields[d.cur]
	switch {
	case keyIs(msg, k.Quit):
		return d, tea.Quit, declareEditing
	case keyIs(msg, k.Back):
		return d, nil, declareBack
	case keyIs(msg, k.Prev):
		if d.cur > 0 {
			f.input.Blur()
			d.cur--
			return d, d.fields[d.cur].input.Focus(), declareEditing
		}
		return d, nil, declareEditing
	case keyIs(msg, k.NextChoice), keyIs(msg, k.PrevChoice):
		if n := len(f.choices); n > 0 {
			// From a value that is not a choice (empty, typed), ctrl+n
			// starts at the first choice and ctrl+p at the last.
			cur := slices.Index(f.choices, f.input.Value())
			next := keyIs(msg, k.NextChoice)
			switch {
			case cur < 0 && next:
				f.choice = 0
			case cur < 0:
				f.choice = n - 1
			case next:
				f.choice = (cur + 1) % n
			default:
				f.choice = (cur - 1 + n) % n
			}
			f.input.SetValue(f.choices[f.choice])
			f.input.CursorEnd()
		}
		return d, nil, declareEditing
	case keyIs(msg, k.Next), keyIs(msg, k.Submit):
		if !d.validate(d.cur, now) {
			return d, nil, declareEditing
		}
		if d.cur < len(d.fields)-1 {
			f.input.Blur()
			d.cur++
			return d, d.fields[d.cur].input.Focus(), declareEditing
		}
		if !keyIs(msg, k.Submit) {
			return d, nil, declareEditing
		}
		for i := range d.fields {
			if !d.validate(i, now) {
				d.cur = i
				return d, nil, declareEditing
			}
		}
		return d, nil, declareSubmit
	}
	if f.fresh && (msg.Text != "" || keyIs(msg, k.Erase)) {
		f.input.SetValue("") // "now" is replaced, not appended to
		if msg.Text == "" {
			f.fresh = false
			return d, nil, declareEditing
		}
	}
	f.fresh = false
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	f.err = ""
	return d, cmd, declareEditing
}

// updateInput hands a paste (or another message) to the focused field.
func (d declareForm) updateInput(msg tea.Msg) (declareForm, tea.Cmd) {
	if d.cur >= len(d.fields) {
		return d, nil
	}
	var cmd tea.Cmd
	f := &d.fields[d.cur]
	f.input, cmd = f.input.Update(msg)
	return d, cmd
}

// validate checks field i and sets its error.
func (d *declareForm) validate(i int, now time.Time) bool {
	f := &d.fields[i]
	val := strings.TrimSpace(f.input.Value())
	f.err = ""
	if i == 0 {
		if _, err := incident.ParseDetection(val, now); err != nil {
			f.err = err.Error()
		}
		return f.err == ""
	}
	if val == "" {
		f.err = "required"
	} else if f.variable.Validate(val) != nil {
		// Validate's error names the variable, which the form shows beside
		// the field already; the value is never repeated (it may be a secret).
		f.err = "must match " + f.variable.Pattern
	}
	return f.err == ""
}

// View is the declare screen of rb; env names LIVE's cluster.
func (d declareForm) View(fr frame, rb *runbooks.Runbook, mode Mode, env *Environment) string {
	s := fr.styles
	w := fr.width
	var b []string
	banner := s.DrillBanner.Render("DRILL")
	if mode == ModeLive {
		banner = s.LiveBanner.Render("LIVE " + env.KubeShort())
	}
	b = append(b, s.Title.Render("Declare: "+rb.Title)+" · "+banner, "")
	for i, f := range d.fields {
		label := f.label
		if f.variable != nil && f.variable.Prompt != "" {
			label = f.variable.Prompt + " (" + f.variable.Name + ")"
		}
		if i == 0 {
			label = "Detection time"
		}
		mark := "  "
		if i == d.cur {
			mark = s.Accent.Render("> ")
		}
		b = append(b, clip(mark+s.Bold.Render(label), w))
		b = append(b, clip("  "+f.input.View(), w))
		if i == 0 {
			// what the value means, as it is typed, then what may be typed
			if at, err := incident.ParseDetection(f.input.Value(), fr.clock); err != nil {
				b = append(b, clip("  "+s.Warn.Render("not a time yet"), w))
			} else {
				resolved := incident.DescribeDetection(at, fr.clock)
				if f.fresh {
					resolved += s.Subtle.Render(" · typing replaces now")
				}
				b = append(b, clip("  "+resolved, w))
			}
			b = append(b, clip("  "+s.Subtle.Render(incident.DetectionFormats), w))
		}
		if f.err != "" {
			b = append(b, clip("  "+s.Fail.Render(f.err), w))
		}
		if i == d.cur && f.choiceErr != nil {
			b = append(b, clip("  "+s.Warn.Render(f.choiceErr.Error()), w))
		}
		if i == d.cur && len(f.choices) > 0 {
			b = append(b, viewChoices(fr, f, w)...)
		}
	}
	k := fr.keys.Declare
	b = append(b, "", s.Help.Render(helpLine(k.Submit, k.Field, k.Back)))
	if fr.flash != "" {
		b = append(b, s.Warn.Render(fr.flash))
	}
	return strings.Join(b, "\n")
}

// maxChoiceRows is how many live choices the declare form lists.
const maxChoiceRows = 5

// viewChoices lists a field's live choices, one a row with its facts; the
// one in the field is marked. A name too long for the row keeps its
// distinguishing end ("…/backups/latest.sql", "…-8tcpk").
func viewChoices(fr frame, f declareField, w int) []string {
	s := fr.styles
	b := []string{clip("  "+s.Subtle.Render(fmt.Sprintf("%s: %d live choices", fr.keys.Declare.Choices.Help().Key, len(f.choices))), w)}
	// Names take what the longest facts leave, and at least a third.
	nameW, factsW := 0, 0
	for i, c := range f.choices {
		nameW = max(nameW, ansi.StringWidth(c))
		if i < len(f.facts) {
			factsW = max(factsW, ansi.StringWidth(f.facts[i]))
		}
	}
	nameW = min(nameW, max(12, (w-6)/3, w-6-factsW))
	for i, c := range f.choices {
		if i == maxChoiceRows {
			b = append(b, clip("    "+s.Subtle.Render(fmt.Sprintf("%s %d more", "…", len(f.choices)-i)), w))
			break
		}
		mark := "  "
		if c == f.input.Value() {
			mark = "> "
		}
		name := c
		if ansi.StringWidth(name) > nameW {
			name = "…" + ansi.TruncateLeft(name, ansi.StringWidth(name)-nameW+ansi.StringWidth("…"), "")
		}
		row := "  " + mark + pad(name, nameW)
		if i < len(f.facts) && f.facts[i] != "" {
			row += "  " + s.Subtle.Render(f.facts[i])
		}
		b = append(b, clip(strings.TrimRight(row, " "), w))
	}
	return b
}
