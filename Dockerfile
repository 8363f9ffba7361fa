# One image for the API, the worker and the CLI. Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build step: the service picks its process with the command, e.g.
#   node apps/api/src/main.ts | node apps/worker/src/main.ts | node apps/cli/src/main.ts db migrate
FROM node:24-bookworm-slim

# the pnpm of package.json's packageManager (corepack is avoided: it fails on some registries)
RUN npm install --global pnpm@10.34.9 && npm cache clean --force

WORKDIR /app

# manifests first, so the dependency layer is reused until a manifest or the lockfile changes
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY apps/bench/package.json apps/bench/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/jobs/package.json packages/jobs/
COPY packages/runtime/package.json packages/runtime/
COPY packages/api-client/package.json packages/api-client/
COPY apps/web/package.json apps/web/
# production dependencies only: the embedded PostgreSQL and the test helpers (testcontainers) are
# development dependencies of packages/db, so the image has neither and always needs DATABASE_URL
RUN pnpm install --frozen-lockfile --prod && pnpm store prune

COPY . .

ENV HOST=0.0.0.0 \
    PORT=3000 \
    LOG_LEVEL=info
EXPOSE 3000

# never root at run time
USER node

# the API by default; docker-compose.yml runs the worker and the migration from the same image
CMD ["node", "apps/api/src/main.ts"]
