# The hoist container image: the static binary (CGO_ENABLED=0, built by
# goreleaser) on distroless/static, which adds only CA certificates,
# tzdata, /etc/passwd and a /tmp to an empty filesystem. It runs as the
# distroless nonroot user (65532).
#
# goreleaser (dockers_v2 in .goreleaser.yaml) builds it with buildx for
# linux/amd64 and linux/arm64, putting each platform's binary at
# $TARGETPLATFORM/hoist in the build context. To build it by hand from a
# snapshot: make release-snapshot, then
#   mkdir -p ctx/linux/amd64 && cp dist/hoist_linux_amd64_v1/hoist ctx/linux/amd64/
#   docker buildx build --platform linux/amd64 -f Dockerfile -t hoist:dev ctx
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/hoist /hoist
# Spills, changesets and the supervisor's status file go to the temp
# folder; in Kubernetes mount an emptyDir there (deploy/kubernetes).
ENV TMPDIR=/tmp
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/hoist"]
CMD ["--help"]
