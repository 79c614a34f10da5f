package publish

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/packgen/packgen/internal/location"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/stall"
)

// S3Options locate a bucket on any S3-compatible store (AWS S3, MinIO,
// Ceph, R2, GCS interop). Credentials come from the standard AWS
// environment variables and shared config/credentials files (AWS_PROFILE,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, SSO, web
// identity...), exactly as the aws CLI finds them.
type S3Options struct {
	Bucket    string
	Prefix    string // key prefix, without leading or trailing '/'
	Endpoint  string // custom endpoint URL; "" = AWS_ENDPOINT_URL(_S3) or AWS
	Region    string // default from the AWS config, else us-east-1
	PathStyle bool   // bucket in the path (MinIO, most self-hosted stores)
	// StallTimeout fails a request when no byte moves for this long (0:
	// stall.Default), as every client of packgen's does: the SDK's
	// own client waits for ever for a store that accepts and never
	// answers.
	StallTimeout time.Duration
}

// ParseS3URL splits s3://BUCKET/PREFIX.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/PREFIX URL", s)
	}
	prefix = strings.Trim(u.Path, "/")
	// A control character (a %00 decoded, a newline) in a key prefix is
	// never what was meant, and would reach logs and object names as is.
	if i := strings.IndexFunc(prefix, unicode.IsControl); i >= 0 {
		return "", "", fmt.Errorf("%q: the prefix has a control character (%q): give a plain path", s, prefix[i:i+1])
	}
	for _, part := range strings.Split(prefix, "/") {
		if strings.Contains(u.Path, "//") || (prefix != "" && (part == "" || part == "." || part == "..")) {
			return "", "", fmt.Errorf("%q: the prefix %q has an empty, . or .. segment", s, prefix)
		}
	}
	return u.Host, prefix, nil
}

// ErrDestination: a destination or endpoint that cannot be used as given.
var ErrDestination = errors.New("bad destination")

// ErrNoCredentials: the AWS SDK found no credentials anywhere it looks.
var ErrNoCredentials = errors.New("no AWS credentials")

func init() {
	RegisterDestination("s3", "s3://BUCKET/PREFIX", openS3, "endpoint", "region", "path-style", "stall-timeout")
}

// openS3 opens s3://BUCKET/PREFIX with o.S3.
func openS3(ctx context.Context, loc location.Location, o DestOptions) (Target, error) {
	b, p, err := ParseS3URL(loc.Raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDestination, err)
	}
	s3o := o.S3
	s3o.Bucket, s3o.Prefix = b, p
	return NewS3(ctx, s3o)
}

// S3Target publishes to a bucket.
type S3Target struct {
	client *s3.Client
	opts   S3Options
}

// NewS3 makes a target from the standard AWS configuration.
func NewS3(ctx context.Context, o S3Options) (*S3Target, error) {
	// The SDK logs to stderr on its own (a "falling back to IMDSv1"
	// warning off EC2): what matters reaches the user as explain's error.
	loaders := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if o.Region != "" {
		loaders = append(loaders, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration (AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: endpoint %q is not an http(s):// URL", ErrDestination, o.Endpoint)
		}
	}
	silence := o.StallTimeout
	if silence <= 0 {
		silence = stall.Default
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.HTTPClient = &http.Client{Transport: &stall.Transport{Base: awshttp.NewBuildableClient().GetTransport(), D: silence}}
		so.Retryer = retry.NewStandard(func(ro *retry.StandardOptions) {
			ro.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetry)}, ro.Retryables...)
		})
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Flexible checksums are an AWS extension many compatible stores
		// lack, and the SDK's own send the body aws-chunked with a
		// trailer, which fewer still take: Content-MD5 and the
		// x-amz-checksum-sha256 header Put computes protect every upload.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	o.Prefix = strings.Trim(o.Prefix, "/")
	return &S3Target{client: client, opts: o}, nil
}

// noRetry: a store that sent nothing for the stall timeout is not
// asked again (the SDK's three attempts would triple the limit), as the
// OCI client does not (internal/ocireg); nor is an upload whose site
// file changed (siteReader): reading it again cannot help.
func noRetry(err error) aws.Ternary {
	if errors.Is(err, stall.ErrStalled) || errors.Is(err, ErrSiteChanged) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

func (t *S3Target) String() string {
	if t.opts.Prefix == "" {
		return "s3://" + t.opts.Bucket
	}
	return "s3://" + t.opts.Bucket + "/" + t.opts.Prefix
}

func (t *S3Target) key(k string) string {
	if t.opts.Prefix == "" {
		return k
	}
	return t.opts.Prefix + "/" + k
}

// List lists the objects under the prefix with their sizes and, where
// the ETag has an MD5's form, that ETag as the MD5: it is one for a
// single-part upload that is not encrypted with SSE-KMS or SSE-C, which
// the listing does not tell (Stat does), so a match is taken for a
// pinned file and a mismatch only says to ask (sameContent).
func (t *S3Target) List(ctx context.Context) (map[string]Object, error) {
	out := map[string]Object{}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(t.opts.Bucket)}
	if t.opts.Prefix != "" {
		in.Prefix = aws.String(t.opts.Prefix + "/")
	}
	p := s3.NewListObjectsV2Paginator(t.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, t.explain(err)
		}
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if t.opts.Prefix != "" {
				k = strings.TrimPrefix(k, t.opts.Prefix+"/")
			}
			if k == "" || strings.HasSuffix(k, "/") {
				continue // folder markers some consoles create
			}
			etag := strings.ToLower(strings.Trim(aws.ToString(obj.ETag), `"`))
			if _, err := hex.DecodeString(etag); err != nil || len(etag) != 32 {
				etag = "" // multipart: sameContent asks Stat instead
			}
			out[k] = Object{Size: aws.ToInt64(obj.Size), MD5: etag, ETag: aws.ToString(obj.ETag)}
		}
	}
	return out, nil
}

// Stat reads one object's size, the SHA-256 checksum the store checked
// its upload against (x-amz-checksum-sha256, which Put sends: a whole
// object's, not a multipart upload's checksum of its parts) and the
// sha256 metadata its writer stored. The checksum is taken as the
// store's own: AWS S3 and MinIO refuse a body that does not hash to it,
// but a store that keeps x-amz-* headers unchecked (gofakes3 did)
// returns whatever a bucket writer sent, which nothing here can tell
// apart (docs/SECURITY.md, "Not defended").
func (t *S3Target) Stat(ctx context.Context, key string) (Object, error) {
	h, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.opts.Bucket), Key: aws.String(t.key(key)), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return Object{}, t.explain(err)
	}
	o := Object{Size: aws.ToInt64(h.ContentLength), ClaimedSHA256: strings.ToLower(h.Metadata["sha256"]),
		Served: served(h.ContentType, h.CacheControl, h.ContentEncoding, h.ContentDisposition, h.WebsiteRedirectLocation),
		// AWS: "Objects encrypted by SSE-C or SSE-KMS have ETags that are
		// not an MD5 digest of their object data."
		ETagNotMD5: h.ServerSideEncryption == types.ServerSideEncryptionAwsKms || h.ServerSideEncryption == types.ServerSideEncryptionAwsKmsDsse ||
			aws.ToString(h.SSECustomerAlgorithm) != ""}
	if sum, err := base64.StdEncoding.DecodeString(aws.ToString(h.ChecksumSHA256)); err == nil && len(sum) == sha256.Size &&
		(h.ChecksumType == "" || h.ChecksumType == types.ChecksumTypeFullObject) {
		o.SHA256 = hex.EncodeToString(sum)
	}
	return o, nil
}

// served is how an object is served, from a HEAD's or GET's headers.
func served(contentType, cacheControl, encoding, disposition, redirect *string) *Served {
	s := &Served{ContentType: aws.ToString(contentType), CacheControl: aws.ToString(cacheControl)}
	for _, h := range []struct{ name, v string }{
		{"Content-Encoding", aws.ToString(encoding)},
		{"Content-Disposition", aws.ToString(disposition)},
		{"x-amz-website-redirect-location", aws.ToString(redirect)},
	} {
		if h.v != "" {
			s.Extra = append(s.Extra, h.name+": "+h.v)
		}
	}
	return s
}

// Get opens one object; the body says how it is served (servedBody).
func (t *S3Target) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.opts.Bucket), Key: aws.String(t.key(key))})
	if err != nil {
		return nil, t.explain(err)
	}
	return s3Body{o.Body, served(o.ContentType, o.CacheControl, o.ContentEncoding, o.ContentDisposition, o.WebsiteRedirectLocation)}, nil
}

// s3Body is a GET's body with the headers it came with.
type s3Body struct {
	io.ReadCloser
	served *Served
}

func (b s3Body) Served() *Served { return b.served }

// Put uploads one object with its Content-Type, Cache-Control, the
// SHA-256 as metadata (for comparisons of pinned files when the ETag is
// not an MD5), and a Content-MD5 and an x-amz-checksum-sha256 the store
// checks, so a corrupted upload is rejected; the store keeps the
// checksum, and a later publish compares by it (Stat). A store that
// neither checks nor keeps the header has its files that change in place
// uploaded on every publish; one that keeps it unchecked believes any
// writer's (Stat).
func (t *S3Target) Put(ctx context.Context, key string, body io.ReadSeeker, info PutInfo) error {
	raw, err := hex.DecodeString(info.MD5)
	if err != nil {
		return err
	}
	sum, err := hex.DecodeString(info.SHA256)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(t.opts.Bucket),
		Key:           aws.String(t.key(key)),
		Body:          body,
		ContentLength: aws.Int64(info.Size),
		ContentType:   aws.String(info.ContentType),
		CacheControl:  aws.String(info.CacheControl),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(raw)),
		// Sent as a header, computed already: the SDK then adds no
		// checksum of its own (no aws-chunked body, see NewS3).
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
		Metadata:       map[string]string{"sha256": info.SHA256},
	}
	if info.IfMatch != "" {
		in.IfMatch = aws.String(info.IfMatch)
	}
	if info.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = t.client.PutObject(ctx, in)
	conditional := info.IfMatch != "" || info.IfAbsent
	var ae smithy.APIError
	if conditional && errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case "NotImplemented":
			return fmt.Errorf("%w: %v", errUnconditional, err)
		}
	}
	return t.explain(err)
}

// Delete removes one object.
func (t *S3Target) Delete(ctx context.Context, key string) error {
	_, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.opts.Bucket), Key: aws.String(t.key(key))})
	return t.explain(err)
}

// explain turns the store's error codes into what to do about them.
func (t *S3Target) explain(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		if strings.Contains(err.Error(), "failed to retrieve credentials") || strings.Contains(err.Error(), "no EC2 IMDS role found") {
			// The SDK's chain of attempts (env, files, IMDS) is noise
			// to a user; what to set is the message.
			return errmark.New(ErrNoCredentials, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (the SDK found none in the environment, ~/.aws or the instance metadata)")
		}
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	case "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist on the store (create it first): %w", t.opts.Bucket, err)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%s refused the credentials (%s): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE and the bucket policy: %w", t, ae.ErrorCode(), err)
	}
	return err
}

// envEndpoint reports the endpoint the AWS SDK takes from the environment.
func envEndpoint() string {
	if v := os.Getenv("AWS_ENDPOINT_URL_S3"); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// CustomEndpoint reports whether S3 requests go to a store other than AWS
// (an --endpoint, or AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3): such stores
// usually want path-style addressing.
func CustomEndpoint(flag string) bool { return flag != "" || envEndpoint() != "" }
