// Package golangci is the golangci-lint v2 module plugin for govern's
// analyzers. Importing it registers the plugin under the name "govern"
// with github.com/golangci/plugin-module-register, which is how
// golangci-lint's custom build (golangci-lint custom, driven by
// .custom-gcl.yml) discovers module plugins.
//
// The registration happens in init because that is the plugin protocol:
// golangci-lint imports the package for its side effect and looks the
// plugin up by name. It is the only init side effect in govern, and it
// only adds an entry to the registry of plugin constructors.
//
// Settings, under linters.settings.custom.govern.settings:
//
//	disable: [tickerleak]   # analyzers to turn off, by name
//
// See docs/lint.md for the .custom-gcl.yml and .golangci.yml to use.
package golangci
