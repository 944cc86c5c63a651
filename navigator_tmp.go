package main

import "errors"

var errNoUI = errors.New("the navigator UI is not wired into this build yet; use 'drnav run'")

func cmdNavigator(a *app, o *cmdOpts, args []string) error { return errNoUI }
func cmdResume(a *app, o *cmdOpts, args []string) error    { return errNoUI }
func cmdWatch(a *app, o *cmdOpts, args []string) error     { return errNoUI }
