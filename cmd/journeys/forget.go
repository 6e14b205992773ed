package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/store"
)

// forgetLoadTimeout bounds the wait for the suppression list at start.
const forgetLoadTimeout = 30 * time.Second

func forgetTopicFlag(fs *flag.FlagSet) *string {
	return fs.String("forget-topic", env("JOURNEYS_FORGET_TOPIC", forget.DefaultTopic), "Kafka topic of the suppression list of forgotten customers (compacted; env JOURNEYS_FORGET_TOPIC)")
}

// followForgetList starts following the suppression list until ctx ends
// and returns once it is loaded: a service must not take events before.
func followForgetList(ctx context.Context, brokers []string, topic string, reg prometheus.Registerer, log *slog.Logger) (*forget.List, error) {
	list, err := forget.NewList(brokers, topic, reg, log.With("component", "forget"))
	if err != nil {
		return nil, err
	}
	go func() { _ = list.Run(ctx) }()
	wctx, cancel := context.WithTimeout(ctx, forgetLoadTimeout)
	defer cancel()
	if err := list.WaitLoaded(wctx); err != nil {
		return nil, fmt.Errorf("%w (does the topic exist? create it with cleanup.policy=compact)", err)
	}
	return list, nil
}

func runForget(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("forget", flag.ContinueOnError)
	userID := fs.String("user-id", "", "the userId of the customer to forget; their linked anonymous ids and aliases are forgotten too")
	brokers := kafkaFlag(fs)
	topic := forgetTopicFlag(fs)
	chCfg := clickhouseFlags(fs, "127.0.0.1:9000")
	wait := fs.Bool("wait", true, "wait until ClickHouse has deleted the rows")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting after this long (the deletion goes on in ClickHouse)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := forget.ValidateUserID(*userID); err != nil {
		return fmt.Errorf("--user-id: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := store.Open(ctx, *chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	w := forget.NewWriter(splitList(*brokers), *topic)
	defer w.Close()
	f := &forget.Forgetter{Store: st, Writer: w, Log: log}
	res, err := f.Forget(ctx, *userID, *wait)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}
