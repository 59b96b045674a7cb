# Build the manager binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download

# The whole module, less what .dockerignore leaves out: a new file or package cannot be
# missed (test/image checks that this context builds).
COPY . .

RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags='-s -w' -o rbac-guardrails .

# A distroless base keeps the image small and without a shell.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/rbac-guardrails /rbac-guardrails
USER 65532:65532

ENTRYPOINT ["/rbac-guardrails"]
