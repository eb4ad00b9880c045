# The rookery binary on a slim Debian base. Not built in CI (no container
# tooling on the build machines); k8s/ runs it as user 10001 with a
# read-only root filesystem and its data on /data.
FROM rust:1.90-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p rookery

FROM debian:bookworm-slim
COPY --from=build /src/target/release/rookery /usr/local/bin/rookery
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["rookery"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/data"]
