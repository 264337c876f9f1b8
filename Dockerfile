# The eledger node image. docker-compose.yml runs one container per region from it, each with
# the home that `eledger devnet --dir .devnet --init-only` (or `make run`) generated mounted at
# /home/eledger. Keys and ledgers live only in those mounted homes, never in the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /opt/eledger
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY certs certs
COPY node node
COPY api api
COPY eledger eledger
RUN pip install --no-cache-dir .

VOLUME /home/eledger
STOPSIGNAL SIGTERM
ENTRYPOINT ["eledger"]
CMD ["node", "start", "--home", "/home/eledger", "--listen-host", "0.0.0.0", "--api-host", "0.0.0.0"]
