# One image for the three services; compose picks the service with the command.
FROM oven/bun:1.3-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.3-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json bunfig.toml ./
COPY apps ./apps
COPY db ./db
COPY shared ./shared
USER bun
EXPOSE 8001 8002 8003
CMD ["bun", "run", "start"]
