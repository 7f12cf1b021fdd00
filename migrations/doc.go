// Package migrations embeds the SQL schema of ssi, one folder per dialect
// (sqlite/, postgres/), as numbered files NNNN_name.sql applied in order.
//
// A migration, once committed, is never edited: a schema change is a new
// file with the next number. The files are plain SQL for one dialect each;
// nothing here rewrites SQL from one dialect into another.
//
// This package only exposes the files. Applying them (and recording them in
// schema_migrations) is internal/store's job; this package must never open
// a database connection.
package migrations
