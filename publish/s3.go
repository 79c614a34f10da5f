package publish

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Options locate a bucket on any S3-compatible store (AWS S3, MinIO,
// Ceph, R2, GCS interop). Credentials come from the standard AWS
// environment variables and shared config/credentials files.
type S3Options struct {
	Bucket    string
	Prefix    string // key prefix, without leading or trailing '/'
	Endpoint  string // custom endpoint URL; "" = AWS
	Region    string // default from the AWS config, else us-east-1
	PathStyle bool   // bucket in the path (MinIO, most self-hosted stores)
}

// ParseS3URL splits s3://BUCKET/PREFIX.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/PREFIX URL", s)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// S3Target publishes to a bucket.
type S3Target struct {
	client *s3.Client
	opts   S3Options
}

// NewS3 makes a target from the standard AWS configuration.
func NewS3(ctx context.Context, o S3Options) (*S3Target, error) {
	var loaders []func(*config.LoadOptions) error
	if o.Region != "" {
		loaders = append(loaders, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Flexible checksums are an AWS extension many compatible stores
		// lack; Content-MD5 below already protects every upload.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	o.Prefix = strings.Trim(o.Prefix, "/")
	return &S3Target{client: client, opts: o}, nil
}

func (t *S3Target) String() string {
	return "s3://" + t.opts.Bucket + "/" + t.opts.Prefix
}

func (t *S3Target) key(k string) string {
	if t.opts.Prefix == "" {
		return k
	}
	return t.opts.Prefix + "/" + k
}

// List lists the objects under the prefix with their sizes and MD5s
// (the ETag of a single-part upload).
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
			return nil, err
		}
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if t.opts.Prefix != "" {
				k = strings.TrimPrefix(k, t.opts.Prefix+"/")
			}
			etag := strings.Trim(aws.ToString(obj.ETag), `"`)
			if strings.Contains(etag, "-") || len(etag) != 32 {
				etag = "" // multipart or not an MD5: compare by upload instead
			}
			out[k] = Object{Size: aws.ToInt64(obj.Size), MD5: strings.ToLower(etag)}
		}
	}
	return out, nil
}

// Put uploads one object with its Content-Type, Cache-Control and a
// Content-MD5 the store checks.
func (t *S3Target) Put(ctx context.Context, key string, r io.Reader, size int64, md5hex, contentType, cacheControl string) error {
	raw, err := hex.DecodeString(md5hex)
	if err != nil {
		return err
	}
	body, ok := r.(io.ReadSeeker)
	if !ok {
		return fmt.Errorf("upload body must be seekable")
	}
	_, err = t.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(t.opts.Bucket),
		Key:           aws.String(t.key(key)),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
		CacheControl:  aws.String(cacheControl),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(raw)),
	})
	return err
}

// Delete removes one object.
func (t *S3Target) Delete(ctx context.Context, key string) error {
	_, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.opts.Bucket), Key: aws.String(t.key(key))})
	return err
}
