package ui

// stepAction is what a mutating key of the checklist asks for; mutate
// dispatches on it.
type stepAction int

const (
	actStepRun stepAction = iota + 1
	actStepReRun
	actStepSkip
	actStepNote
	actStepMarkDone
	actStepVerify
	actStepHint
	actStatusUpdate
	actIncidentResolve
)

// String is the action as the footer and the read-only refusal name it.
func (a stepAction) String() string {
	switch a {
	case actStepRun:
		return "run"
	case actStepReRun:
		return "re-run"
	case actStepSkip:
		return "skip"
	case actStepNote:
		return "note"
	case actStepMarkDone:
		return "mark done"
	case actStepVerify:
		return "verify"
	case actStepHint:
		return "hint"
	case actStatusUpdate:
		return "status update"
	case actIncidentResolve:
		return "resolve"
	}
	return "unknown action"
}

func (s screen) String() string {
	switch s {
	case screenPicker:
		return "picker"
	case screenMode:
		return "mode"
	case screenDeclare:
		return "declare"
	case screenChecklist:
		return "checklist"
	}
	return "unknown screen"
}

func (o overlay) String() string {
	switch o {
	case ovNone:
		return "none"
	case ovConfirm:
		return "confirm"
	case ovPrompt:
		return "prompt"
	case ovHelp:
		return "help"
	case ovStatus:
		return "status update"
	case ovContacts:
		return "contacts"
	case ovDocs:
		return "docs"
	case ovPager:
		return "output"
	case ovScorecard:
		return "scorecard"
	case ovBriefing:
		return "briefing"
	case ovContexts:
		return "contexts"
	}
	return "unknown overlay"
}

func (a confirmAction) String() string {
	switch a {
	case actRun:
		return "run"
	case actCancel:
		return "cancel"
	case actResolve:
		return "resolve"
	case actSameServer:
		return "same server"
	case actContextChange:
		return "context change"
	case actHandover:
		return "handover"
	}
	return "unknown confirm"
}

func (k promptKind) String() string {
	switch k {
	case promptSkip:
		return "skip"
	case promptNote:
		return "note"
	case promptMarkDone:
		return "mark done"
	case promptSearch:
		return "search"
	case promptSecret:
		return "secret"
	case promptExpect:
		return "expectation"
	}
	return "unknown prompt"
}
