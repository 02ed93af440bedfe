# syntax=docker/dockerfile:1
# Build stage: full dependencies, Prisma client generated offline, TypeScript compiled.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, non-root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8000/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrates on start (under an advisory lock, so replicas may start together), then serves.
# A 4 MB young generation and no GC helper threads: see "Node's flags" in docs/design.md.
CMD ["node", "--max-semi-space-size=4", "--single-threaded-gc", "dist/server.js"]
